namespace MiniLlmPipeline.Generation;

/// <summary>
/// How to pick each next token: greedy (argmax), or sampling from softmax(logits / temperature)
/// restricted to the top-k tokens and to the top-p nucleus. TopK = 0 and TopP = 1 switch those off.
/// </summary>
public sealed record SamplingSettings
{
    public int MaxNewTokens { get; init; } = 128;
    public double Temperature { get; init; } = 1.0;
    public int TopK { get; init; }
    public double TopP { get; init; } = 1.0;
    public bool Greedy { get; init; }

    /// <summary>Temperature 0 is the limit of sharpening: the argmax.</summary>
    public bool IsGreedy => Greedy || Temperature == 0;

    /// <summary>Range problems as (key, problem); empty when valid.</summary>
    public IEnumerable<(string Key, string Problem)> Problems()
    {
        if (MaxNewTokens < 0) yield return ("max_new_tokens", "must not be negative");
        if (Temperature < 0) yield return ("temperature", "must not be negative");
        if (TopK < 0) yield return ("top_k", "must not be negative (0 = off)");
        if (TopP is <= 0 or > 1) yield return ("top_p", "must be in (0, 1] (1 = off)");
    }
}
