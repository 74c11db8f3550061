namespace MiniLlmPipeline.Generation;

/// <summary>
/// How to pick each next token: greedy (argmax), or sampling from softmax(logits / temperature)
/// restricted to the top-k tokens, the top-p nucleus and the min-p floor. TopK = 0, TopP = 1 and MinP = 0
/// switch those off. The penalties act on the logits before any of them (greedy included) and count only the
/// tokens generated so far, not the prompt: RepetitionPenalty 1, FrequencyPenalty 0 and PresencePenalty 0 are off.
/// </summary>
public sealed record SamplingSettings
{
    public int MaxNewTokens { get; init; } = 128;
    public double Temperature { get; init; } = 1.0;
    public int TopK { get; init; }
    public double TopP { get; init; } = 1.0;
    public bool Greedy { get; init; }

    /// <summary>Min-p (Nguyen et al. 2024): drop tokens whose probability is below MinP × the top token's.</summary>
    public double MinP { get; init; }

    /// <summary>CTRL's penalty θ (Keskar et al. 2019, §4.1) on every token already generated: logit/θ if positive, logit·θ if not.</summary>
    public double RepetitionPenalty { get; init; } = 1.0;

    /// <summary>OpenAI's frequency penalty: logit − count × this, count = times the token was generated so far.</summary>
    public double FrequencyPenalty { get; init; }

    /// <summary>OpenAI's presence penalty: logit − this for every token generated at least once.</summary>
    public double PresencePenalty { get; init; }

    /// <summary>Temperature 0 is the limit of sharpening: the argmax.</summary>
    public bool IsGreedy => Greedy || Temperature == 0;

    /// <summary>Whether any penalty needs the tokens generated so far.</summary>
    public bool HasPenalties => RepetitionPenalty != 1 || FrequencyPenalty != 0 || PresencePenalty != 0;

    /// <summary>Range problems as (key, problem); empty when valid.</summary>
    public IEnumerable<(string Key, string Problem)> Problems()
    {
        if (MaxNewTokens < 0) yield return ("max_new_tokens", "must not be negative");
        if (Temperature < 0) yield return ("temperature", "must not be negative");
        if (TopK < 0) yield return ("top_k", "must not be negative (0 = off)");
        if (TopP is <= 0 or > 1) yield return ("top_p", "must be in (0, 1] (1 = off)");
        if (MinP is < 0 or >= 1) yield return ("min_p", "must be in [0, 1) (0 = off)");
        if (RepetitionPenalty <= 0) yield return ("repetition_penalty", "must be positive (1 = off)");
        // OpenAI's accepted range.
        if (FrequencyPenalty is < -2 or > 2) yield return ("frequency_penalty", "must be in [-2, 2] (0 = off)");
        if (PresencePenalty is < -2 or > 2) yield return ("presence_penalty", "must be in [-2, 2] (0 = off)");
    }
}
