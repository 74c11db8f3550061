namespace MiniLlmPipeline.IO;

/// <summary>
/// A stage's inputs are not usable: the upstream stage never completed, its checkpoint does not
/// match the spec, the tokenizer and model disagree, the requested device is missing.
/// </summary>
public sealed class StageInputException(string message) : UserInputException(message);
