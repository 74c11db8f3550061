namespace MiniLlmPipeline.IO;

/// <summary>
/// Base of every error a user causes and can fix (bad spec, bad data, missing upstream stage).
/// Stages print the message alone, without a stack trace, and exit with code 1.
/// </summary>
public abstract class UserInputException(string message) : Exception(message);
