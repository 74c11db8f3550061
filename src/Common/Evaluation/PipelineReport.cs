namespace MiniLlmPipeline.Evaluation;

/// <summary>
/// What the eval stage found: one row per stage in pipeline order, and the settings the numbers were
/// measured with (seed, sample count, sampling). Serialised as report.json; rendered as report.md.
/// </summary>
public sealed record PipelineReport(
    string Pipeline,
    IReadOnlyDictionary<string, string> Settings,
    IReadOnlyList<StageReportRow> Stages)
{
    public const string MarkdownFile = "report.md";
    public const string JsonFile = "report.json";
}
