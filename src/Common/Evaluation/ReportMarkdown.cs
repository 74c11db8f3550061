using System.Globalization;
using System.Text;

namespace MiniLlmPipeline.Evaluation;

/// <summary>
/// report.md: a stage × metric table (— where a stage has no value, e.g. it never ran or the metric does
/// not apply), the plots, then sample generations per stage.
/// </summary>
public static class ReportMarkdown
{
    public static string Render(PipelineReport report, IReadOnlyList<ReportPlot> plots)
    {
        var md = new StringBuilder();
        md.AppendLine($"# Pipeline report: {report.Pipeline}").AppendLine();
        foreach (var (key, value) in report.Settings) md.AppendLine($"- {key}: {value}");
        if (report.Settings.Count > 0) md.AppendLine();

        var columns = Columns(report);
        md.AppendLine("| stage | status | " + string.Join(" | ", columns.Select(c => c.Heading)) + " |");
        md.AppendLine("|---|---|" + string.Concat(columns.Select(_ => "---:|")));
        foreach (var row in report.Stages)
            md.AppendLine($"| {row.Stage} | {row.Status} | "
                + string.Join(" | ", columns.Select(c => row.Metrics.TryGetValue(c.Key, out var v) ? Format(c.Key, v) : "—")) + " |");
        md.AppendLine();

        foreach (var plot in plots)
            md.AppendLine($"![{plot.Title}]({plot.FileName})").AppendLine();

        md.AppendLine("## Samples").AppendLine();
        foreach (var row in report.Stages)
        {
            md.AppendLine($"### {row.Stage}").AppendLine();
            if (row.Samples.Count == 0)
            {
                md.AppendLine(row.Ran ? "_no samples (this stage does not generate text)_" : $"_{row.Status}_").AppendLine();
                continue;
            }
            foreach (var sample in row.Samples)
            {
                md.AppendLine($"**{Escape(sample.Prompt)}**" + (sample.Verdict is null ? "" : $" — {sample.Verdict}")).AppendLine();
                md.AppendLine("```text").AppendLine(sample.Response.Replace("```", "'''")).AppendLine("```").AppendLine();
            }
        }
        return md.ToString();
    }

    /// <summary>The known metrics in their fixed order, then any other metric a row has, by name.</summary>
    private static List<(string Key, string Heading)> Columns(PipelineReport report)
    {
        var present = report.Stages.SelectMany(r => r.Metrics.Keys).ToHashSet(StringComparer.Ordinal);
        var known = EvalMetrics.Columns.Where(c => present.Contains(c.Key)).ToList();
        var extra = present.Except(known.Select(c => c.Key)).Order(StringComparer.Ordinal).Select(k => (k, k));
        return [.. known, .. extra];
    }

    private static string Format(string key, double value) =>
        !double.IsFinite(value) ? value.ToString(CultureInfo.InvariantCulture)
        : EvalMetrics.IsRate(key) ? (value * 100).ToString("F1", CultureInfo.InvariantCulture) + "%"
        : Math.Abs(value) >= 100 ? value.ToString("F1", CultureInfo.InvariantCulture)
        : value.ToString("F3", CultureInfo.InvariantCulture);

    /// <summary>Keeps a prompt on one line and out of Markdown syntax.</summary>
    private static string Escape(string text) =>
        text.ReplaceLineEndings(" ").Replace("|", "\\|").Replace("*", "\\*");
}
