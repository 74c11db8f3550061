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
    /// <summary>Stop when validation stops improving; null (the default) trains every step.</summary>
    public EarlyStoppingConfig? EarlyStopping { get; init; }
    /// <summary>
    /// Which weights the stage's checkpoint holds: <c>last</c> (default) or <c>best</c>, those of the evaluation with the best
    /// <see cref="EarlyStoppingConfig.Metric"/> (val_loss unless early_stopping names another).
    /// </summary>
    public string Keep { get; init; } = KeepLast;
    /// <summary><c>lr_schedule: plateau</c>: evaluations without improvement before the rate is multiplied by <see cref="PlateauFactor"/>.</summary>
    public int PlateauPatience { get; init; } = 2;
    public double PlateauFactor { get; init; } = 0.5;

    public const string KeepLast = "last";
    public const string KeepBest = "best";

    /// <summary>
    /// Whether the stage's block gives it validation data, which keep: best, early_stopping and the plateau schedule
    /// watch. Each stage says so from its own keys (val_data, ...); false unless it does.
    /// </summary>
    public virtual bool HasValidationData => false;

    /// <summary>The metric keep: best, early stopping and the plateau schedule watch (val_loss, lower is better, unless early_stopping says otherwise).</summary>
    public EarlyStoppingConfig Monitored => EarlyStopping ?? new EarlyStoppingConfig();

    /// <summary>Whether anything in the loop acts on validation metrics.</summary>
    public bool WatchesValidation => Keep == KeepBest || EarlyStopping is not null || LrSchedule == LearningRateSchedule.Plateau;

    protected override bool ValidatesDuringTraining => true;

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
        if (Keep is not (KeepLast or KeepBest)) yield return ("keep", $"must be '{KeepLast}' or '{KeepBest}'");
        if (EarlyStopping is not null)
            foreach (var problem in EarlyStopping.Problems()) yield return problem;
        if (PlateauPatience <= 0) yield return ("plateau_patience", "must be positive");
        if (PlateauFactor is <= 0 or >= 1) yield return ("plateau_factor", "must be in (0, 1)");
        if (HasValidationData) yield break;
        const string why = "needs validation data, and this stage has none (give it val_data)";
        if (Keep == KeepBest) yield return ("keep", $"best {why}");
        if (EarlyStopping is not null) yield return ("early_stopping", why);
        if (LrSchedule == LearningRateSchedule.Plateau) yield return ("lr_schedule", $"plateau {why}");
    }
}
