namespace MiniLlmPipeline.Evaluation;

/// <summary>
/// One stage's line in the pipeline report: its status (<c>complete</c>, <c>not run</c>, <c>failed</c>, ...),
/// its evaluation metrics by <see cref="EvalMetrics"/> key, and a few sample generations.
/// A stage that never ran has a row too, with no metrics, so the report shows what is missing.
/// </summary>
public sealed record StageReportRow(
    string Stage,
    string Status,
    IReadOnlyDictionary<string, double> Metrics,
    IReadOnlyList<ReportSample> Samples)
{
    public const string NotRun = "not run";

    public bool Ran => Status == Pipeline.StageStatus.Complete;

    public static StageReportRow Missing(string stage, string status = NotRun) =>
        new(stage, status, new Dictionary<string, double>(), []);
}
