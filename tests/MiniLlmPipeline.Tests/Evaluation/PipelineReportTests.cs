using MiniLlmPipeline.Evaluation;
using MiniLlmPipeline.Training;

namespace MiniLlmPipeline.Tests.Evaluation;

public sealed class PipelineReportTests
{
    private static readonly Dictionary<string, string> Settings = new() { ["seed"] = "1337", ["samples"] = "2" };

    private static PipelineReport FakeReport(bool withPpo) => new("fake", Settings,
    [
        new("pretrain", "complete", new Dictionary<string, double> { [EvalMetrics.ValPerplexity] = 12.3456, [EvalMetrics.FormCompliance] = 0.0, [EvalMetrics.FormScore] = 0.125 },
            [new ReportSample("写一首五言绝句", "床前明月光\n疑是地上霜", "x 0.13")]),
        new("sft", "complete", new Dictionary<string, double> { [EvalMetrics.ValPerplexity] = 15.5, [EvalMetrics.FormCompliance] = 0.25, [EvalMetrics.FormScore] = 0.5 }, []),
        StageReportRow.Missing("reward_model"),
        StageReportRow.Missing("dpo", "failed"),
        withPpo
            ? new("ppo", "complete", new Dictionary<string, double> { [EvalMetrics.FormCompliance] = 0.75, [EvalMetrics.FormScore] = 0.8 }, [])
            : StageReportRow.Missing("ppo"),
    ]);

    private static void WriteMetrics(string pipelineDir, string stage, params (int Step, string Kind, Dictionary<string, double> Values)[] records)
    {
        var dir = Path.Combine(pipelineDir, stage);
        Directory.CreateDirectory(dir);
        using var log = new MetricsLog(dir, tensorBoardDir: null, resumeFromStep: int.MaxValue);
        foreach (var (step, kind, values) in records) log.Write(step, kind, values);
    }

    [Fact]
    public void Report_HasARowForEveryStage_AndMarksStagesThatNeverRan()
    {
        using var temp = new TempDir();
        var files = PipelineReportWriter.Write(temp.Path, FakeReport(withPpo: false));

        var md = File.ReadAllText(files[0]);
        Assert.EndsWith("report.md", files[0]);
        Assert.Contains("| pretrain | complete | 12.346 | 0.0% | 0.125 |", md);
        Assert.Contains("| sft | complete | 15.500 | 25.0% | 0.500 |", md);
        Assert.Contains("| reward_model | not run | — | — | — |", md);
        Assert.Contains("| dpo | failed | — | — | — |", md);
        Assert.Contains("| ppo | not run | — | — | — |", md);
        Assert.DoesNotContain("RM score", md);   // no row has it, so no column
        Assert.Contains("床前明月光\n疑是地上霜", md);
        Assert.Contains("x 0.13", md);
    }

    [Fact]
    public void Report_DrawsOnlyTheFiguresThatHaveData()
    {
        using var temp = new TempDir();
        WriteMetrics(temp.Path, "pretrain", (1, "train", new() { ["loss"] = 5 }), (2, "train", new() { ["loss"] = 4 }));
        var files = PipelineReportWriter.Write(temp.Path, FakeReport(withPpo: false));

        Assert.True(File.Exists(Path.Combine(temp.Path, PipelinePlots.LossFile)));
        Assert.True(File.Exists(Path.Combine(temp.Path, PipelinePlots.ComplianceFile)));
        Assert.False(File.Exists(Path.Combine(temp.Path, PipelinePlots.PpoFile)));
        var md = File.ReadAllText(files[0]);
        Assert.Contains($"]({PipelinePlots.LossFile})", md);
        Assert.DoesNotContain(PipelinePlots.PpoFile, md);
    }

    [Fact]
    public void Report_DrawsPpoRewardAndKl_WhenPpoLoggedThem()
    {
        using var temp = new TempDir();
        WriteMetrics(temp.Path, "ppo",
            (1, PipelinePlots.PpoKind, new() { [PipelinePlots.PpoRewardKey] = 0.1, [PipelinePlots.PpoKlKey] = 0.0 }),
            (2, PipelinePlots.PpoKind, new() { [PipelinePlots.PpoRewardKey] = 0.4, [PipelinePlots.PpoKlKey] = 0.02 }));
        var files = PipelineReportWriter.Write(temp.Path, FakeReport(withPpo: true));

        Assert.Contains(Path.Combine(temp.Path, PipelinePlots.PpoFile), files);
        Assert.True(new FileInfo(Path.Combine(temp.Path, PipelinePlots.PpoFile)).Length > 1000);
    }

    [Fact]
    public void ReportJson_RoundTripsEveryRowAndNumber()
    {
        using var temp = new TempDir();
        var report = FakeReport(withPpo: true);
        PipelineReportWriter.Write(temp.Path, report);

        var read = PipelineReportWriter.Read(temp.Path);
        Assert.Equal(report.Stages.Select(s => (s.Stage, s.Status)), read.Stages.Select(s => (s.Stage, s.Status)));
        Assert.Equal(12.3456, read.Stages[0].Metrics[EvalMetrics.ValPerplexity]);
        Assert.Equal("床前明月光\n疑是地上霜", read.Stages[0].Samples[0].Response);
        Assert.Empty(read.Stages[2].Metrics);
    }

    [Fact]
    public void Publish_ReplacesTheFolderWithTheNewReport()
    {
        using var temp = new TempDir();
        var publish = Path.Combine(temp.Path, "published");
        temp.Write("published/old.png", "stale");
        var files = PipelineReportWriter.Write(Path.Combine(temp.Path, "run"), FakeReport(withPpo: false));

        PipelineReportWriter.Publish(files, publish);

        Assert.False(File.Exists(Path.Combine(publish, "old.png")));
        Assert.Equal(File.ReadAllText(files[0]), File.ReadAllText(Path.Combine(publish, "report.md")));
        Assert.True(File.Exists(Path.Combine(publish, PipelinePlots.ComplianceFile)));
    }
}
