namespace MiniLlmPipeline.Training;

/// <summary>Summary of a finished training run, recorded in the stage manifest.</summary>
public sealed record TrainingResult(
    int Steps,
    double FinalTrainLoss,
    IReadOnlyDictionary<string, double> FinalEval,
    double TokensPerSecond,
    double SecondsTraining,
    int SkippedSteps,
    long PeakRssBytes);
