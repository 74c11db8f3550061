using MiniLlmPipeline.Pipeline;
using MiniLlmPipeline.Rlhf;
using MiniLlmPipeline.Training;

namespace MiniLlmPipeline.Stages.Ppo;

/// <summary><c>stages.ppo</c>: PPO-RLHF with a reward model, per-token KL to a frozen reference, and GAE.</summary>
public sealed record PpoConfig : OptimizerConfig, IStageConfig
{
    /// <summary>Checkpoints are counted in iterations here: a resumed run starts at an iteration boundary.</summary>
    public PpoConfig() => CheckpointEvery = 10;

    public string From { get; init; } = StageCatalog.Sft.Name;
    public string RewardModel { get; init; } = StageCatalog.RewardModel.Name;
    public required string Prompts { get; init; }
    public int Iterations { get; init; } = 20;
    public int RolloutBatch { get; init; } = 32;
    public int MiniBatch { get; init; } = 8;
    public int PpoEpochs { get; init; } = 2;
    public int MaxNewTokens { get; init; } = 64;
    /// <summary>
    /// Rollout sampling temperature; log-probs are taken under the same temperature (as TRL does), so PPO improves the
    /// tempered policy. Match it to the temperature the model is used with (the evaluator's 0.7): rollouts from a flatter
    /// distribution teach the T = 1 policy, and what PPO learns there need not show at 0.7 (the README has the runs).
    /// </summary>
    public double Temperature { get; init; } = 0.7;
    public double TopP { get; init; } = 1.0;
    public double KlCoef { get; init; } = 0.05;
    /// <summary>Adaptive KL controller target (0 = fixed <see cref="KlCoef"/>).</summary>
    public double KlTarget { get; init; }
    public double Gamma { get; init; } = 1.0;
    public double Lambda { get; init; } = 0.95;
    public double ClipRange { get; init; } = 0.2;
    public double ValueClipRange { get; init; } = 0.2;
    public double ValueCoef { get; init; } = 0.5;
    /// <summary>Without a <c>reward:</c> block, the reward model's score alone.</summary>
    public RewardWeights Reward { get; init; } = new() { Model = 1 };
    /// <summary>Whiten advantages per rollout (zero mean, unit variance over response tokens), as TRL does.</summary>
    public bool WhitenAdvantages { get; init; } = true;
    /// <summary>Where the value model starts: <c>reward_model</c> (InstructGPT) or <c>policy</c> (a fresh head on the policy's trunk).</summary>
    public string ValueInit { get; init; } = ValueFromRewardModel;
    /// <summary>Print and save (samples.md) a few rollout responses every this many iterations.</summary>
    public int SampleEvery { get; init; } = 5;
    public string? EvalPrompts { get; init; }
    public int EvalSamples { get; init; } = 64;

    public const string ValueFromRewardModel = "reward_model";
    public const string ValueFromPolicy = "policy";

    /// <summary>Optimizer steps per iteration: every PPO epoch passes over the rollout in mini-batches.</summary>
    public int StepsPerIteration => PpoEpochs * Math.Max(1, RolloutBatch / Math.Max(1, MiniBatch));

    public int TotalSteps => Iterations * StepsPerIteration;

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
        if (ValueClipRange <= 0) yield return ("value_clip_range", "must be positive");
        if (ValueCoef < 0) yield return ("value_coef", "must not be negative");
        if (WhitenAdvantages && RolloutBatch < 2) yield return ("rollout_batch", "must be at least 2 to whiten advantages");
        if (ValueInit is not (ValueFromRewardModel or ValueFromPolicy)) yield return ("value_init", $"must be '{ValueFromRewardModel}' or '{ValueFromPolicy}'");
        if (SampleEvery <= 0) yield return ("sample_every", "must be positive");
        if (EvalSamples <= 0) yield return ("eval_samples", "must be positive");
        foreach (var problem in Reward.Problems(hasRewardModel: true)) yield return problem;
    }
}
