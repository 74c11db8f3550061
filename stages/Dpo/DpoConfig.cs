using MiniLlmPipeline.Pipeline;
using MiniLlmPipeline.Rlhf;
using MiniLlmPipeline.Training;

namespace MiniLlmPipeline.Stages.Dpo;

/// <summary>
/// <c>stages.dpo</c>: Direct Preference Optimization against a frozen reference, on a preference file (<c>mode: offline</c>,
/// the default: data, val_data, steps/epochs, eval_every) or on pairs it samples itself (<c>mode: on_policy</c>: prompts,
/// rounds, prompts_per_round, samples_per_prompt, margin, steps_per_round and the shared <c>reward:</c> terms; see
/// <see cref="OnPolicyDpoObjective"/>).
/// </summary>
public sealed record DpoConfig : TrainingConfig, IStageConfig
{
    public const string Offline = "offline";
    public const string OnPolicy = "on_policy";

    public string From { get; init; } = StageCatalog.Sft.Name;
    public string Mode { get; init; } = Offline;
    /// <summary>The preference file (offline mode).</summary>
    public string? Data { get; init; }
    public string? ValData { get; init; }
    public double Beta { get; init; } = 0.1;
    /// <summary>cDPO label smoothing ε (0 = plain DPO).</summary>
    public double LabelSmoothing { get; init; }
    /// <summary><c>sigmoid</c> (DPO) or <c>ipo</c>.</summary>
    public string LossType { get; init; } = "sigmoid";
    /// <summary>Held-out prompts (with a <c>form</c> column) for the form-compliance check before and after training.</summary>
    public string? EvalPrompts { get; init; }
    /// <summary>How many of <see cref="EvalPrompts"/> to answer before and after training; 0 skips the check.</summary>
    public int EvalSamples { get; init; } = 64;

    // On-policy mode.
    /// <summary>The prompts answers are sampled for (on-policy mode).</summary>
    public string? Prompts { get; init; }
    /// <summary>A reward_model stage for the reward's <c>model</c> term; none by default.</summary>
    public string? RewardModel { get; init; }
    /// <summary>
    /// The reward that ranks each prompt's answers. Repetition is priced by default: best-vs-worst pairs on the form
    /// terms alone taught the policy compliant verses of repeated characters (README, "Reward hacking").
    /// </summary>
    public RewardWeights Reward { get; init; } = new() { Form = 1, Compliant = 1, Rhyme = 0.5, MissingEnd = 1, Repetition = 3 };
    /// <summary>R: sample-then-train rounds, each from the latest policy.</summary>
    public int Rounds { get; init; } = 8;
    public int PromptsPerRound { get; init; } = 64;
    /// <summary>K: answers per prompt; the best and the worst make the pair.</summary>
    public int SamplesPerPrompt { get; init; } = 4;
    /// <summary>A prompt makes a pair only when its best and worst rewards differ by more than this.</summary>
    public double Margin { get; init; } = 0.1;
    /// <summary>Optimizer steps per round over its pairs (batch_size pairs each, wrapping around).</summary>
    public int StepsPerRound { get; init; } = 8;
    /// <summary>α of the chosen answers' NLL added to the DPO loss (RPO, Pang et al. 2024; on-policy mode); 0 = plain DPO.</summary>
    public double RpoAlpha { get; init; } = 1.0;
    public int MaxNewTokens { get; init; } = 96;
    /// <summary>The evaluator's sampler, so the pairs are answers as the model is used.</summary>
    public double Temperature { get; init; } = 0.7;
    public double TopP { get; init; } = 0.9;

    /// <summary>Offline DPO validates on val_data; on-policy rounds have no validation set.</summary>
    public override bool HasValidationData => Mode == Offline && ValData is not null;

    public override IEnumerable<(string Key, string Problem)> Problems()
    {
        foreach (var problem in base.Problems()) yield return problem;
        if (Beta <= 0) yield return ("beta", "must be positive");
        if (LabelSmoothing is < 0 or >= 0.5) yield return ("label_smoothing", "must be in [0, 0.5)");
        if (EvalSamples < 0) yield return ("eval_samples", "must not be negative (0 skips the form-compliance check)");
        if (LossType is not ("sigmoid" or "ipo")) yield return ("loss_type", "must be 'sigmoid' or 'ipo'");
        if (Mode is not (Offline or OnPolicy)) yield return ("mode", $"must be '{Offline}' or '{OnPolicy}'");
        if (Mode == Offline && Data is null) yield return ("data", "is required in offline mode (a preference Parquet file)");
        if (Mode != OnPolicy) yield break;
        if (Prompts is null) yield return ("prompts", "is required in on_policy mode (the prompts to sample answers for)");
        if (Rounds <= 0) yield return ("rounds", "must be positive");
        if (PromptsPerRound <= 0) yield return ("prompts_per_round", "must be positive");
        if (SamplesPerPrompt < 2) yield return ("samples_per_prompt", "must be at least 2 (a pair needs a best and a worst answer)");
        if (Margin < 0 || !double.IsFinite(Margin)) yield return ("margin", "must be a finite number ≥ 0");
        if (StepsPerRound <= 0) yield return ("steps_per_round", "must be positive");
        if (RpoAlpha < 0 || !double.IsFinite(RpoAlpha)) yield return ("rpo_alpha", "must be a finite number ≥ 0");
        if (MaxNewTokens <= 0) yield return ("max_new_tokens", "must be positive");
        if (Temperature <= 0) yield return ("temperature", "must be positive");
        if (TopP is <= 0 or > 1) yield return ("top_p", "must be in (0, 1]");
        foreach (var problem in Reward.Problems(hasRewardModel: RewardModel is not null)) yield return problem;
    }
}
