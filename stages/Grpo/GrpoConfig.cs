using MiniLlmPipeline.Alignment;
using MiniLlmPipeline.Pipeline;
using MiniLlmPipeline.Rlhf;
using MiniLlmPipeline.Training;

namespace MiniLlmPipeline.Stages.Grpo;

/// <summary>
/// <c>stages.grpo</c>: Group Relative Policy Optimization (Shao et al. 2024) — per iteration, group_size answers to each of
/// prompts_per_iteration prompts from the current policy, rewarded by <see cref="RewardWeights"/>, advantages relative to
/// their group, then epochs passes of clipped policy-ratio updates with a per-token k3 KL to the frozen <c>from:</c> model.
/// </summary>
public sealed record GrpoConfig : OptimizerConfig, IStageConfig
{
    /// <summary>Checkpoints are counted in iterations: a resumed run starts at an iteration boundary.</summary>
    public GrpoConfig() => CheckpointEvery = 10;

    public string From { get; init; } = StageCatalog.Sft.Name;
    /// <summary>A reward_model stage whose score is the reward's <c>model</c> term; none by default (the checker is the reward).</summary>
    public string? RewardModel { get; init; }
    public required string Prompts { get; init; }
    public int Iterations { get; init; } = 30;
    public int PromptsPerIteration { get; init; } = 8;
    /// <summary>G: answers sampled per prompt (DeepSeekMath uses 64; a few suffice for a rule this small).</summary>
    public int GroupSize { get; init; } = 8;
    /// <summary>Rows (answers) per optimizer step; must divide prompts_per_iteration × group_size.</summary>
    public int MiniBatch { get; init; } = 32;
    /// <summary>μ: passes over each iteration's answers (DeepSeekMath's and TRL's <c>num_iterations</c>).</summary>
    public int Epochs { get; init; } = 2;
    /// <summary>The evaluator's budget, so what GRPO learns to finish in is what eval allows.</summary>
    public int MaxNewTokens { get; init; } = 96;
    /// <summary>The evaluator's sampler (temperature 0.7, top-p 0.9): GRPO improves the policy as it is used and measured.</summary>
    public double Temperature { get; init; } = 0.7;
    public double TopP { get; init; } = 0.9;
    public double ClipRange { get; init; } = 0.2;
    /// <summary>β of the k3 KL term (DeepSeekMath: 0.04).</summary>
    public double Beta { get; init; } = 0.04;
    /// <summary>Divide advantages by the group's std (GRPO) or not (Dr. GRPO, Liu et al. 2025).</summary>
    public bool ScaleRewards { get; init; } = true;
    /// <summary><c>grpo</c> (per-answer token mean) or <c>dr_grpo</c> (constant normaliser), see <see cref="GrpoLoss"/>.</summary>
    public string LossType { get; init; } = "grpo";
    public RewardWeights Reward { get; init; } = new() { Model = 0, Form = 1, Compliant = 1, Rhyme = 0.5, MissingEnd = 1 };
    /// <summary>Print and save (samples.md) a few answers every this many iterations.</summary>
    public int SampleEvery { get; init; } = 5;
    public string? EvalPrompts { get; init; }
    public int EvalSamples { get; init; } = 64;

    public int Rows => PromptsPerIteration * GroupSize;

    public int StepsPerIteration => Epochs * Math.Max(1, Rows / Math.Max(1, MiniBatch));

    public GrpoLossType ParsedLossType => LossType == "dr_grpo" ? GrpoLossType.DrGrpo : GrpoLossType.Grpo;

    public override IEnumerable<(string Key, string Problem)> Problems()
    {
        foreach (var problem in base.Problems()) yield return problem;
        if (Iterations <= 0) yield return ("iterations", "must be positive");
        if (PromptsPerIteration <= 0) yield return ("prompts_per_iteration", "must be positive");
        if (GroupSize < 2) yield return ("group_size", "must be at least 2 (advantages compare the answers of a group)");
        if (MiniBatch <= 0 || Rows % MiniBatch != 0)
            yield return ("mini_batch", $"must be positive and divide prompts_per_iteration × group_size ({Rows})");
        if (Epochs <= 0) yield return ("epochs", "must be positive");
        if (MaxNewTokens <= 0) yield return ("max_new_tokens", "must be positive");
        if (Temperature <= 0) yield return ("temperature", "must be positive");
        if (TopP is <= 0 or > 1) yield return ("top_p", "must be in (0, 1]");
        if (ClipRange <= 0) yield return ("clip_range", "must be positive");
        if (Beta < 0 || !double.IsFinite(Beta)) yield return ("beta", "must be a finite number ≥ 0");
        if (LossType is not ("grpo" or "dr_grpo")) yield return ("loss_type", "must be 'grpo' or 'dr_grpo'");
        if (SampleEvery <= 0) yield return ("sample_every", "must be positive");
        if (EvalSamples <= 0) yield return ("eval_samples", "must be positive");
        foreach (var problem in Reward.Problems(hasRewardModel: RewardModel is not null)) yield return problem;
    }
}
