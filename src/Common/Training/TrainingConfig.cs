namespace MiniLlmPipeline.Training;

/// <summary>
/// The supervised loop's settings on top of <see cref="OptimizerConfig"/>: how many steps, how big a batch, how often to
/// validate. A supervised stage's config record derives from this and adds its data and loss settings.
/// </summary>
public abstract record TrainingConfig : OptimizerConfig
{
    /// <summary>Optimizer steps; 0 means "derive from <see cref="Epochs"/>".</summary>
    public int Steps { get; init; }
    /// <summary>Passes over the training set, used when <see cref="Steps"/> is 0.</summary>
    public double Epochs { get; init; } = 1;
    public int BatchSize { get; init; } = 16;
    /// <summary>Micro-batches accumulated into one optimizer step.</summary>
    public int GradAccum { get; init; } = 1;
    public int EvalEvery { get; init; } = 200;
    public int EvalBatches { get; init; } = 10;

    /// <summary>
    /// Optimizer steps for a run over <paramref name="itemsPerEpoch"/> items (examples, or windows of
    /// pretraining text): <see cref="Steps"/> when set, else enough for <see cref="Epochs"/> passes.
    /// </summary>
    public int ResolveSteps(long itemsPerEpoch) =>
        Steps > 0 ? Steps : (int)Math.Max(1, Math.Ceiling(Epochs * itemsPerEpoch / ((double)BatchSize * GradAccum)));

    public override IEnumerable<(string Key, string Problem)> Problems()
    {
        if (Steps < 0) yield return ("steps", "must be 0 (use epochs) or positive");
        if (Steps == 0 && Epochs <= 0) yield return ("epochs", "must be positive when steps is 0");
        if (BatchSize <= 0) yield return ("batch_size", "must be positive");
        if (GradAccum <= 0) yield return ("grad_accum", "must be positive");
        foreach (var problem in base.Problems()) yield return problem;
        if (EvalEvery <= 0) yield return ("eval_every", "must be positive");
        if (EvalBatches <= 0) yield return ("eval_batches", "must be positive");
    }
}
