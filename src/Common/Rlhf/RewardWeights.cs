namespace MiniLlmPipeline.Rlhf;

/// <summary>
/// The terms of the sequence reward every RL stage shares (<c>reward: { … }</c> in a ppo, grpo or on-policy dpo block),
/// so the three alignment stages are compared on equal terms:
/// total = model × reward-model score + form × form score + compliant × [strictly compliant] + rhyme × rhyme score
///         − missing_end × [the answer never produced its end token] − repetition × repeated-character share.
/// The form, compliance and rhyme terms come from <see cref="Evaluation.PoetryFormChecker"/> and are 0 for a prompt that
/// names no form. Every term a <c>reward:</c> block leaves out is 0; each stage's config says what it uses without one.
/// </summary>
public sealed record RewardWeights
{
    /// <summary>The trained reward model's score at the last token (needs the stage's <c>reward_model:</c>).</summary>
    public double Model { get; init; }
    /// <summary>The form checker's graded score in [0, 1] (partial credit for line count, line lengths, punctuation).</summary>
    public double Form { get; init; }
    /// <summary>A bonus of 1 for an answer that is exactly the requested form (what form compliance counts).</summary>
    public double Compliant { get; init; }
    /// <summary>The checker's rhyme score in [0, 1]: the share of even verses ending in one rhyme group.</summary>
    public double Rhyme { get; init; }
    /// <summary>Subtracted when an answer runs to max_new_tokens without its end token (it never finished the poem).</summary>
    public double MissingEnd { get; init; }
    /// <summary>
    /// Subtracted × the answer's share of repeated Han characters (<see cref="Evaluation.CharacterRepetition"/>, in
    /// [0, 1)): the form checker counts shape only, so without this a compliant verse of one character repeated scores
    /// as well as a poem.
    /// </summary>
    public double Repetition { get; init; }

    /// <summary>
    /// The total as a formula with this block's weights, for a stage's start-up log line: "1·form + 1·compliant + 0.5·rhyme
    /// − 1·missing end − 3·repeated chars"; repetition and the reward model appear only when their weight is not 0.
    /// </summary>
    public string Formula() =>
        $"{Form:G3}·form + {Compliant:G3}·compliant + {Rhyme:G3}·rhyme − {MissingEnd:G3}·missing end" +
        (Repetition != 0 ? $" − {Repetition:G3}·repeated chars" : "") +
        (Model != 0 ? $" + {Model:G3}·reward model" : "");

    /// <summary>Range problems of the <c>reward</c> block, keyed as <c>reward.model</c>, …; <paramref name="hasRewardModel"/>: whether the stage names one.</summary>
    public IEnumerable<(string Key, string Problem)> Problems(bool hasRewardModel)
    {
        foreach (var (key, value) in new[] { ("model", Model), ("form", Form), ("compliant", Compliant), ("rhyme", Rhyme), ("missing_end", MissingEnd), ("repetition", Repetition) })
            if (!double.IsFinite(value)) yield return ($"reward.{key}", "must be a finite number");
        if (Model != 0 && !hasRewardModel) yield return ("reward.model", "is not 0, so the stage needs reward_model: (a reward_model stage)");
        if (MissingEnd < 0) yield return ("reward.missing_end", "is a penalty and must not be negative");
        if (Repetition < 0) yield return ("reward.repetition", "is a penalty and must not be negative");
    }
}
