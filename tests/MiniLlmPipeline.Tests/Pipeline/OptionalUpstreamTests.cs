using MiniLlmPipeline.Pipeline;

namespace MiniLlmPipeline.Tests.Pipeline;

public sealed class OptionalUpstreamTests
{
    private static (string Spec, string RunDir) WriteSpec(TempDir temp)
    {
        var runDir = temp.File("runs");
        var spec = temp.Write("p.yaml", $"name: opt\nrun_dir: {runDir}\ndevice: cpu\nstages:\n  eval: {{ prompts: unused.parquet }}\n");
        return (spec, runDir);
    }

    private static int RunEval(string spec, Action onRun) => StageCli.Run(["--pipeline", spec],
        new StageDefinition<EvalConfig>(StageNames.Eval, "test", s => s.Stages.Eval, _ => [], _ => [],
            _ => { onRun(); return new Dictionary<string, double>(); },
            OptionalUpstream: _ => [StageNames.Pretrain]));

    private static void WriteManifest(string runDir, string status, string outputHash) =>
        new Manifest
        {
            Stage = StageNames.Pretrain, Pipeline = "opt", Status = status, SpecHash = "h",
            Inputs = new Dictionary<string, string>(), OutputHash = outputHash,
        }.Write(Directory.CreateDirectory(Path.Combine(runDir, StageNames.Pretrain)).FullName);

    [Fact]
    public void MissingOptionalUpstream_DoesNotStopTheStage_AndItsCompletionMakesTheStageOutOfDate()
    {
        using var temp = new TempDir();
        var (spec, runDir) = WriteSpec(temp);
        var runs = 0;

        Assert.Equal(StageCli.ExitOk, RunEval(spec, () => runs++));
        Assert.Equal(StageCli.NotRun, Manifest.TryRead(Path.Combine(runDir, StageNames.Eval))!.Inputs["stage:pretrain"]);
        Assert.Equal(StageCli.ExitOk, RunEval(spec, () => runs++));
        Assert.Equal(1, runs);   // up to date: nothing changed

        WriteManifest(runDir, StageStatus.Failed, "a");
        Assert.Equal(StageCli.ExitOk, RunEval(spec, () => runs++));
        Assert.Equal(1, runs);   // a failed upstream counts as not run

        WriteManifest(runDir, StageStatus.Complete, "a");
        Assert.Equal(StageCli.ExitOk, RunEval(spec, () => runs++));
        Assert.Equal(2, runs);
        Assert.Equal("a", Manifest.TryRead(Path.Combine(runDir, StageNames.Eval))!.Inputs["stage:pretrain"]);

        WriteManifest(runDir, StageStatus.Complete, "b");   // retrained upstream
        Assert.Equal(StageCli.ExitOk, RunEval(spec, () => runs++));
        Assert.Equal(3, runs);
    }
}
