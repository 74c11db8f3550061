using MiniLlmPipeline.Stages.Eval;
using MiniLlmPipeline.Evaluation;
using MiniLlmPipeline.Pipeline;

namespace MiniLlmPipeline.Tests.Evaluation;

/// <summary>The built eval program after the real stages of the tiny pipeline, as make runs them.</summary>
public sealed class EvalPipelineTests
{
    [Fact]
    public void Eval_AfterTinyPretrainSftAndRewardModel_ReportsThem_MarksTheRestNotRun_AndIsDeterministic()
    {
        using var temp = new TempDir();
        TinyRuns.CopyUpTo("reward_model", temp.Path);

        var eval = TinyRuns.Run(StageCatalog.Eval, temp.Path);
        Assert.True(eval.ExitCode == 0, eval.ToString());
        var reportPath = Path.Combine(temp.Path, PipelineReport.MarkdownFile);
        Assert.Contains($"report: {reportPath}", eval.StdOut);

        var report = PipelineReportWriter.Read(temp.Path);
        Assert.Equal(EvalRecipe.EvaluatedStages, report.Stages.Select(s => s.Stage));
        foreach (var trained in report.Stages.Take(2))
        {
            Assert.Equal(StageStatus.Complete, trained.Status);
            // A few dozen steps on a 384-token vocabulary: better than uniform guessing, far from fluent.
            Assert.InRange(trained.Metrics[EvalMetrics.ValPerplexity], 1, 384);
            Assert.InRange(trained.Metrics[EvalMetrics.FormCompliance], 0, 1);
            Assert.True(double.IsFinite(trained.Metrics[EvalMetrics.RewardScore]));
            Assert.Equal(3, trained.Samples.Count);
        }
        Assert.Equal(StageStatus.Complete, report.Stages[2].Status);
        Assert.InRange(report.Stages[2].Metrics[EvalMetrics.RewardAccuracy], 0, 1);
        Assert.All(report.Stages.Skip(3), s => Assert.Equal(StageReportRow.NotRun, s.Status));
        Assert.True(File.Exists(Path.Combine(temp.Path, PipelinePlots.LossFile)));

        var again = TinyRuns.Run(StageCatalog.Eval, temp.Path);
        StageAssert.UpToDate(again);
        Assert.Contains($"report: {reportPath}", again.StdOut);

        var first = File.ReadAllText(Path.Combine(temp.Path, PipelineReport.JsonFile));
        Assert.Equal(0, TinyRuns.Run(StageCatalog.Eval, temp.Path, "--force").ExitCode);
        Assert.Equal(first, File.ReadAllText(Path.Combine(temp.Path, PipelineReport.JsonFile)));
    }
}
