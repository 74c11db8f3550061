namespace MiniLlmPipeline.Pipeline;

/// <summary><c>stages.ppo</c>: PPO-RLHF with a reward model, per-token KL to a frozen reference, and GAE.</summary>
public sealed record PpoConfig : TrainingConfig
{
    public string From { get; init; } = StageNames.Sft;
    public string RewardModel { get; init; } = StageNames.RewardModel;
    public required string Prompts { get; init; }
    public int Iterations { get; init; } = 20;
    public int RolloutBatch { get; init; } = 32;
    public int MiniBatch { get; init; } = 8;
    public int PpoEpochs { get; init; } = 2;
    public int MaxNewTokens { get; init; } = 64;
    public double Temperature { get; init; } = 1.0;
    public double TopP { get; init; } = 1.0;
    public double KlCoef { get; init; } = 0.05;
    /// <summary>Adaptive KL controller target (0 = fixed <see cref="KlCoef"/>).</summary>
    public double KlTarget { get; init; }
    public double Gamma { get; init; } = 1.0;
    public double Lambda { get; init; } = 0.95;
    public double ClipRange { get; init; } = 0.2;
    public double ValueClipRange { get; init; } = 0.2;
    public double ValueCoef { get; init; } = 0.5;
    public RewardWeights Reward { get; init; } = new();
    public string? EvalPrompts { get; init; }
    public int EvalSamples { get; init; } = 64;

    public override IEnumerable<(string Key, string Problem)> Problems()
    {
        foreach (var problem in base.Problems()) yield return problem;
        if (Iterations <= 0) yield return ("iterations", "must be positive");
        if (RolloutBatch <= 0) yield return ("rollout_batch", "must be positive");
        if (MiniBatch <= 0 || RolloutBatch % MiniBatch != 0) yield return ("mini_batch", $"must be positive and divide rollout_batch ({RolloutBatch})");
        if (PpoEpochs <= 0) yield return ("ppo_epochs", "must be positive");
        if (MaxNewTokens <= 0) yield return ("max_new_tokens", "must be positive");
        if (Temperature <= 0) yield return ("temperature", "must be positive");
        if (TopP is <= 0 or > 1) yield return ("top_p", "must be in (0, 1]");
        if (KlCoef < 0) yield return ("kl_coef", "must not be negative");
        if (Gamma is < 0 or > 1) yield return ("gamma", "must be in [0, 1]");
        if (Lambda is < 0 or > 1) yield return ("lambda", "must be in [0, 1]");
        if (ClipRange <= 0) yield return ("clip_range", "must be positive");
    }
}
