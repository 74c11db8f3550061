namespace MiniLlmPipeline.Training;

/// <summary>Summary of a finished training run, recorded in the stage manifest.</summary>
public sealed record TrainingResult(
    int Steps,
    double FinalTrainLoss,
    IReadOnlyDictionary<string, double> FinalEval,
    double TokensPerSecond,
    double SecondsTraining,
    int SkippedSteps,
    long PeakRssBytes)
{
    /// <summary>The manifest's metrics: steps, final losses (train and every eval value), speed, memory.</summary>
    public Dictionary<string, double> ToMetrics()
    {
        var metrics = new Dictionary<string, double>
        {
            ["steps"] = Steps, ["final_train_loss"] = FinalTrainLoss, ["tokens_per_s"] = TokensPerSecond,
            ["seconds_training"] = SecondsTraining, ["skipped_steps"] = SkippedSteps, ["peak_rss_mb"] = PeakRssBytes / 1048576.0,
        };
        foreach (var (key, value) in FinalEval) metrics[key] = value;
        return metrics;
    }
}
