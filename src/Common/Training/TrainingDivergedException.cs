namespace MiniLlmPipeline.Training;

/// <summary>The loss or gradients became NaN/Inf; the last good checkpoint is left intact.</summary>
public sealed class TrainingDivergedException(string message) : Exception(message);
