namespace MiniLlmPipeline.Pipeline;

/// <summary><c>stages.eval</c>: compare every completed stage on held-out data.</summary>
public sealed record EvalConfig
{
    public required string Prompts { get; init; }
    public string? ValData { get; init; }
    public string? Preferences { get; init; }
    public int Samples { get; init; } = 64;
    public int MaxNewTokens { get; init; } = 96;
    public double Temperature { get; init; } = 0.7;
    public double TopP { get; init; } = 0.9;
}
