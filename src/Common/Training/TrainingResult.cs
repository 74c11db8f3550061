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
    /// <summary>What the loop made of validation when it watched it (keep: best, early_stopping, plateau), else null.</summary>
    public ValidationOutcome? Watched { get; init; }

    /// <summary>The watched metric's best value and step, which weights the checkpoint holds, and the step an early stop came after.</summary>
    public sealed record ValidationOutcome(string Metric, double? Best, int BestStep, string Kept, int? StoppedAt);

    /// <summary>The manifest's metrics: steps, final losses (train and every eval value), speed, memory.</summary>
    public Dictionary<string, double> ToMetrics()
    {
        var metrics = new Dictionary<string, double>
        {
            ["steps"] = Steps, ["final_train_loss"] = FinalTrainLoss, ["tokens_per_s"] = TokensPerSecond,
            ["seconds_training"] = SecondsTraining, ["skipped_steps"] = SkippedSteps, ["peak_rss_mb"] = PeakRssBytes / 1048576.0,
        };
        foreach (var (key, value) in FinalEval) metrics[key] = value;
        if (Watched is not { } watched) return metrics;
        if (watched.Best is { } best) metrics[$"best_{watched.Metric}"] = best;
        metrics["best_step"] = watched.BestStep;
        // The step whose weights the checkpoint holds.
        metrics["kept_step"] = watched.Kept == "best" ? watched.BestStep : Steps;
        if (watched.StoppedAt is { } stopped) metrics["early_stopped_at"] = stopped;
        return metrics;
    }
}
