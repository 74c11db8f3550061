namespace MiniLlmPipeline.Stages.Explain;

/// <summary>
/// What to explain: the <see cref="Prompt"/> whose attention and next-token distributions are shown (null: the first
/// held-out form prompt), the held-out <see cref="PromptsFile"/>, how many of its form prompts each sampling strategy
/// answers, and the answer length.
/// </summary>
internal sealed record ExplainOptions(string? Prompt, string PromptsFile, int Samples, int MaxNewTokens, int Seed)
{
    /// <summary>Candidates listed per answer position in the next-token view.</summary>
    public const int Candidates = 5;

    /// <summary>The explained sequence is cut to this many tokens so each heat-map stays legible.</summary>
    public const int MaxExplainedTokens = 96;

    /// <summary>Characters placed in the embedding projection.</summary>
    public const int ProjectedCharacters = 80;
}
