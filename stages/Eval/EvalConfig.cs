using MiniLlmPipeline.Pipeline;

namespace MiniLlmPipeline.Stages.Eval;

/// <summary><c>stages.eval</c>: compare every completed stage on held-out data.</summary>
public sealed record EvalConfig : IStageConfig
{
    /// <summary>Held-out prompts (a <c>form</c> column marks the ones the form checker can grade).</summary>
    public required string Prompts { get; init; }
    /// <summary>Held-out pretraining text for validation perplexity; optional.</summary>
    public string? ValData { get; init; }
    /// <summary>Held-out preference pairs for the reward model's pairwise accuracy; optional.</summary>
    public string? Preferences { get; init; }
    /// <summary>How many held-out form prompts each stage answers.</summary>
    public int Samples { get; init; } = 64;
    public int MaxNewTokens { get; init; } = 96;
    public double Temperature { get; init; } = 0.7;
    public double TopP { get; init; } = 0.9;
    /// <summary>Sample generations per stage shown in the report.</summary>
    public int ShowSamples { get; init; } = 3;
    /// <summary>Validation windows (of max_seq_len tokens) for perplexity; 0 = all of val_data.</summary>
    public int ValWindows { get; init; } = 64;
    /// <summary>When set, report.md, report.json and the figures are also copied here (e.g. pipelines/reports/&lt;pipeline&gt;).</summary>
    public string? PublishDir { get; init; }

    public IEnumerable<(string Key, string Problem)> Problems()
    {
        if (Samples < 0) yield return ("samples", "must not be negative");
        if (MaxNewTokens <= 0) yield return ("max_new_tokens", "must be positive");
        if (Temperature < 0) yield return ("temperature", "must not be negative (0 = greedy)");
        if (TopP is <= 0 or > 1) yield return ("top_p", "must be in (0, 1]");
        if (ShowSamples < 0) yield return ("show_samples", "must not be negative");
        if (ValWindows < 0) yield return ("val_windows", "must not be negative (0 = all)");
    }
}
