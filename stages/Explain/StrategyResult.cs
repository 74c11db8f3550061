namespace MiniLlmPipeline.Stages.Explain;

/// <summary>One row of the sampling comparison: a strategy's measured columns over the same prompts, and its answers.</summary>
internal sealed record StrategyResult(
    SamplingStrategy Strategy,
    double Compliance,
    double RhymeRate,
    double Distinct2,
    double RepeatedVerseRate,
    double MeanLength,
    double Seconds,
    IReadOnlyList<(string Prompt, string Answer, string Verdict)> Answers);
