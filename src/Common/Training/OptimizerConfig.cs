using MiniLlmPipeline.Model;

namespace MiniLlmPipeline.Training;

/// <summary>
/// The optimizer and loop settings every training stage shares, supervised or RL (the shared <see cref="Trainer"/> reads
/// these). <see cref="TrainingConfig"/> adds the supervised loop's keys; an RL stage's config derives from this record
/// directly, so keys it has no use for (batch_size, epochs, eval_every, ...) are unknown keys in its spec block.
/// </summary>
public abstract record OptimizerConfig
{
    public double Lr { get; init; } = 3e-4;
    /// <summary>How the rate moves after warmup: <c>cosine</c> (default), <c>linear</c>, <c>constant</c>, or (supervised stages) <c>plateau</c>; see <see cref="LearningRateSchedule"/>.</summary>
    public string LrSchedule { get; init; } = LearningRateSchedule.Cosine;
    /// <summary>Cosine and linear decay end at lr × min_lr_ratio.</summary>
    public double MinLrRatio { get; init; } = 0.1;
    public int WarmupSteps { get; init; } = 50;
    public double WeightDecay { get; init; } = 0.1;
    public double Beta1 { get; init; } = 0.9;
    public double Beta2 { get; init; } = 0.95;
    public double GradClip { get; init; } = 1.0;
    /// <summary>Save a resumable state every this many steps (RL stages: iterations, so a resume starts at an iteration).</summary>
    public int CheckpointEvery { get; init; } = 200;
    public int LogEvery { get; init; } = 10;
    /// <summary>What to do with a NaN/Inf loss or gradient: <c>stop</c> (default) or <c>skip</c> the step.</summary>
    public string OnNonFinite { get; init; } = "stop";
    /// <summary>
    /// Train LoRA adapters instead of every weight (<c>lora: { rank, alpha, dropout, targets }</c>); null (the default)
    /// trains the full model. The stage attaches them with <see cref="LoraAdapters.Attach"/>.
    /// </summary>
    public LoraConfig? Lora { get; init; }
    /// <summary>
    /// <c>mlp</c>: every SwiGLU block is recomputed in the backward pass instead of keeping its (B, T, ffn_hidden)
    /// intermediates (<see cref="Model.ActivationCheckpoint"/>) — for the default model ~200 MB less peak memory in
    /// pretraining (1.25 → 1.05 GB) for ~13 % fewer tokens/s (bench/README.md). <c>none</c> (default) keeps them.
    /// </summary>
    public string ActivationCheckpointing { get; init; } = "none";

    /// <summary>Whether the loop evaluates on validation data as it trains (the supervised loop does; RL iterations do not).</summary>
    protected virtual bool ValidatesDuringTraining => false;

    /// <summary>Range problems as (key, problem); empty when valid. Stages add their own.</summary>
    public virtual IEnumerable<(string Key, string Problem)> Problems()
    {
        if (Lr <= 0) yield return ("lr", "must be positive");
        var schedules = LearningRateSchedule.Kinds.Where(k => k != LearningRateSchedule.Plateau || ValidatesDuringTraining).ToList();
        if (!schedules.Contains(LrSchedule))
            yield return ("lr_schedule", LrSchedule == LearningRateSchedule.Plateau
                ? "plateau lowers the rate when validation stops improving, and this stage has no validation during training (use cosine, linear or constant)"
                : $"must be one of: {string.Join(", ", schedules)}");
        if (MinLrRatio is < 0 or > 1) yield return ("min_lr_ratio", "must be between 0 and 1");
        if (WarmupSteps < 0) yield return ("warmup_steps", "must not be negative");
        if (WeightDecay < 0) yield return ("weight_decay", "must not be negative");
        if (Beta1 is < 0 or >= 1) yield return ("beta1", "must be in [0, 1)");
        if (Beta2 is < 0 or >= 1) yield return ("beta2", "must be in [0, 1)");
        if (GradClip < 0) yield return ("grad_clip", "must not be negative (0 disables clipping)");
        if (CheckpointEvery <= 0) yield return ("checkpoint_every", "must be positive");
        if (LogEvery <= 0) yield return ("log_every", "must be positive");
        if (OnNonFinite is not ("stop" or "skip")) yield return ("on_non_finite", "must be 'stop' or 'skip'");
        if (ActivationCheckpointing is not ("none" or "mlp")) yield return ("activation_checkpointing", "must be 'none' or 'mlp'");
        // The recomputation would draw a second dropout mask, so its gradients would belong to another function.
        if (ActivationCheckpointing == "mlp" && Lora is { Dropout: > 0 })
            yield return ("activation_checkpointing", "cannot be 'mlp' with lora.dropout > 0 (the recomputed block would draw a different dropout mask)");
        if (Lora is not null)
            foreach (var problem in Lora.Problems()) yield return problem;
    }
}
