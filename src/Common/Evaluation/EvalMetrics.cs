namespace MiniLlmPipeline.Evaluation;

/// <summary>
/// The metric keys of the pipeline report, in table order, with their column headings.
/// ↓ marks lower-is-better, ↑ higher-is-better.
/// </summary>
public static class EvalMetrics
{
    /// <summary>exp(mean next-token cross-entropy) on held-out pretraining text, in fixed windows of max_seq_len.</summary>
    public const string ValPerplexity = "val_perplexity";
    /// <summary>Fraction of held-out form prompts answered with a fully compliant poem.</summary>
    public const string FormCompliance = "form_compliance";
    /// <summary>Mean graded form score (0..1) of those answers.</summary>
    public const string FormScore = "form_score";
    /// <summary>
    /// Fraction of those answers whose even verses all end in one modern rhyme track (十三辙); compare with the rate of
    /// the real held-out poems (<see cref="RhymeCeiling"/>), which the modern approximation keeps below 1.
    /// </summary>
    public const string RhymeRate = "rhyme_rate";
    /// <summary>
    /// Mean share of those answers' Han characters that repeat an earlier one (<see cref="CharacterRepetition"/>):
    /// compliance counts shape only, so a stage that games it with repeated characters shows here; compare with the
    /// held-out poems' own rate (the report's settings).
    /// </summary>
    public const string RepeatedChars = "repeated_chars";
    /// <summary>
    /// KL(stage ‖ SFT model) per answer token: the mean over the stage's own answers of log π_stage(y_t) − log π_sft(y_t)
    /// (k1, unbiased on samples from the stage), both under the evaluator's temperature — how far a stage moved from SFT.
    /// </summary>
    public const string KlToSft = "kl_to_sft";
    /// <summary>Mean reward-model score of the stage's answers.</summary>
    public const string RewardScore = "rm_score";
    /// <summary>Fraction of held-out preference pairs the reward model ranks chosen above rejected.</summary>
    public const string RewardAccuracy = "rm_accuracy";
    /// <summary>Mean score(chosen) − score(rejected) of the reward model on those pairs.</summary>
    public const string RewardMargin = "rm_margin";

    public static readonly IReadOnlyList<(string Key, string Heading)> Columns =
    [
        (ValPerplexity, "val perplexity ↓"),
        (FormCompliance, "form compliance ↑"),
        (FormScore, "form score ↑"),
        (RhymeRate, "rhyme rate ↑"),
        (RepeatedChars, "repeated chars ↓"),
        (KlToSft, "KL to SFT / token"),
        (RewardScore, "RM score ↑"),
        (RewardAccuracy, "RM pair accuracy ↑"),
        (RewardMargin, "RM margin ↑"),
    ];

    /// <summary>Whether a metric is a fraction shown as a percentage.</summary>
    public static bool IsRate(string key) => key is FormCompliance or RhymeRate or RepeatedChars or RewardAccuracy;
}
