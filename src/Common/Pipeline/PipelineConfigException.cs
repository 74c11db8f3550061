using MiniLlmPipeline.IO;

namespace MiniLlmPipeline.Pipeline;

/// <summary>
/// A mistake in a pipeline spec or a command-line override that the user can fix.
/// The message already names the file (or --set), the line and the key; stages print it without a stack trace.
/// </summary>
public sealed class PipelineConfigException(string message) : UserInputException(message);
