namespace MiniLlmPipeline.Training;

/// <summary>
/// <c>early_stopping: { metric, mode, patience, min_delta }</c> of a supervised stage (Prechelt 1998, "Early Stopping —
/// But When?"; Goodfellow et al. 2016 §7.8): stop once <see cref="Metric"/> has not improved by more than
/// <see cref="MinDelta"/> for <see cref="Patience"/> evaluations in a row. The same metric decides which step
/// <c>keep: best</c> keeps and when <c>lr_schedule: plateau</c> lowers the rate.
/// </summary>
public sealed record EarlyStoppingConfig
{
    public const string Minimize = "min";
    public const string Maximize = "max";

    /// <summary>A key of the stage's validation metrics (<c>val_loss</c>, or e.g. a reward model's <c>val_accuracy</c>).</summary>
    public string Metric { get; init; } = "val_loss";
    /// <summary><c>min</c> (losses) or <c>max</c> (accuracies).</summary>
    public string Mode { get; init; } = Minimize;
    /// <summary>Evaluations without improvement before the run stops.</summary>
    public int Patience { get; init; } = 3;
    /// <summary>An evaluation improves only when it beats the best so far by more than this.</summary>
    public double MinDelta { get; init; }

    public IEnumerable<(string Key, string Problem)> Problems()
    {
        if (string.IsNullOrWhiteSpace(Metric)) yield return ("early_stopping.metric", "must name a validation metric (e.g. val_loss)");
        if (Mode is not (Minimize or Maximize)) yield return ("early_stopping.mode", $"must be '{Minimize}' or '{Maximize}'");
        if (Patience <= 0) yield return ("early_stopping.patience", "must be positive");
        if (MinDelta < 0 || !double.IsFinite(MinDelta)) yield return ("early_stopping.min_delta", "must be a finite number ≥ 0");
    }
}
