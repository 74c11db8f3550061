namespace MiniLlmPipeline.Pipeline;

/// <summary>
/// Optimisation settings every training stage shares (the shared Trainer reads these).
/// A stage's config record derives from this and adds its data and loss settings.
/// </summary>
public abstract record TrainingConfig
{
    /// <summary>Optimizer steps; 0 means "derive from <see cref="Epochs"/>".</summary>
    public int Steps { get; init; }
    /// <summary>Passes over the training set, used when <see cref="Steps"/> is 0.</summary>
    public double Epochs { get; init; } = 1;
    public int BatchSize { get; init; } = 16;
    /// <summary>Micro-batches accumulated into one optimizer step.</summary>
    public int GradAccum { get; init; } = 1;
    public double Lr { get; init; } = 3e-4;
    /// <summary>Cosine decay ends at lr × min_lr_ratio.</summary>
    public double MinLrRatio { get; init; } = 0.1;
    public int WarmupSteps { get; init; } = 50;
    public double WeightDecay { get; init; } = 0.1;
    public double Beta1 { get; init; } = 0.9;
    public double Beta2 { get; init; } = 0.95;
    public double GradClip { get; init; } = 1.0;
    public int EvalEvery { get; init; } = 200;
    public int EvalBatches { get; init; } = 10;
    public int CheckpointEvery { get; init; } = 200;
    public int LogEvery { get; init; } = 10;
    /// <summary>What to do with a NaN/Inf loss or gradient: <c>stop</c> (default) or <c>skip</c> the step.</summary>
    public string OnNonFinite { get; init; } = "stop";

    /// <summary>
    /// Optimizer steps for a run over <paramref name="itemsPerEpoch"/> items (examples, or windows of
    /// pretraining text): <see cref="Steps"/> when set, else enough for <see cref="Epochs"/> passes.
    /// </summary>
    public int ResolveSteps(long itemsPerEpoch) =>
        Steps > 0 ? Steps : (int)Math.Max(1, Math.Ceiling(Epochs * itemsPerEpoch / ((double)BatchSize * GradAccum)));

    /// <summary>Range problems as (key, problem); empty when valid. Stages add their own.</summary>
    public virtual IEnumerable<(string Key, string Problem)> Problems()
    {
        if (Steps < 0) yield return ("steps", "must be 0 (use epochs) or positive");
        if (Steps == 0 && Epochs <= 0) yield return ("epochs", "must be positive when steps is 0");
        if (BatchSize <= 0) yield return ("batch_size", "must be positive");
        if (GradAccum <= 0) yield return ("grad_accum", "must be positive");
        if (Lr <= 0) yield return ("lr", "must be positive");
        if (MinLrRatio is < 0 or > 1) yield return ("min_lr_ratio", "must be between 0 and 1");
        if (WarmupSteps < 0) yield return ("warmup_steps", "must not be negative");
        if (WeightDecay < 0) yield return ("weight_decay", "must not be negative");
        if (Beta1 is < 0 or >= 1) yield return ("beta1", "must be in [0, 1)");
        if (Beta2 is < 0 or >= 1) yield return ("beta2", "must be in [0, 1)");
        if (GradClip < 0) yield return ("grad_clip", "must not be negative (0 disables clipping)");
        if (EvalEvery <= 0) yield return ("eval_every", "must be positive");
        if (EvalBatches <= 0) yield return ("eval_batches", "must be positive");
        if (CheckpointEvery <= 0) yield return ("checkpoint_every", "must be positive");
        if (LogEvery <= 0) yield return ("log_every", "must be positive");
        if (OnNonFinite is not ("stop" or "skip")) yield return ("on_non_finite", "must be 'stop' or 'skip'");
    }
}
