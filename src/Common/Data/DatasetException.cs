using MiniLlmPipeline.IO;

namespace MiniLlmPipeline.Data;

/// <summary>A dataset file the user pointed at cannot be used; the message names the file and column.</summary>
public sealed class DatasetException(string message) : UserInputException(message);
