using System.Text.Json;
using MiniLlmPipeline.IO;

namespace MiniLlmPipeline.Evaluation;

/// <summary>
/// Writes a <see cref="PipelineReport"/> into the pipeline's run folder: report.json (the numbers),
/// the PNG figures, and report.md (table, figures, samples), each file atomically.
/// </summary>
public static class PipelineReportWriter
{
    /// <summary>Writes every report file; returns the paths written, report.md first.</summary>
    public static IReadOnlyList<string> Write(string pipelineDir, PipelineReport report)
    {
        Directory.CreateDirectory(pipelineDir);
        foreach (var stale in new[] { PipelinePlots.LossFile, PipelinePlots.PpoFile, PipelinePlots.ComplianceFile })
            File.Delete(Path.Combine(pipelineDir, stale));
        var plots = PipelinePlots.Save(pipelineDir, report);
        var markdown = Path.Combine(pipelineDir, PipelineReport.MarkdownFile);
        var json = Path.Combine(pipelineDir, PipelineReport.JsonFile);
        AtomicFile.WriteAllText(json, JsonSerializer.Serialize(report, JsonDefaults.Options));
        AtomicFile.WriteAllText(markdown, ReportMarkdown.Render(report, plots));
        return [markdown, json, .. plots.Select(p => Path.Combine(pipelineDir, p.FileName))];
    }

    public static PipelineReport Read(string pipelineDir) =>
        JsonSerializer.Deserialize<PipelineReport>(File.ReadAllText(Path.Combine(pipelineDir, PipelineReport.JsonFile)), JsonDefaults.Options)
        ?? throw new InvalidDataException($"{Path.Combine(pipelineDir, PipelineReport.JsonFile)} is empty");

    /// <summary>
    /// Copies the report files (report.md, report.json, figures) to <paramref name="publishDir"/> (e.g. pipelines/reports/&lt;pipeline&gt;,
    /// committed so the README can embed them), replacing what an earlier report left there.
    /// </summary>
    public static void Publish(IReadOnlyList<string> reportFiles, string publishDir) =>
        AtomicFile.ReplaceDirectory(publishDir, temp =>
        {
            foreach (var file in reportFiles)
                File.Copy(file, Path.Combine(temp, Path.GetFileName(file)));
        });
}
