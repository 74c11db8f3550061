using MiniLlmPipeline.Stages.Eval;
using MiniLlmPipeline.Stages.Pretrain;
using MiniLlmPipeline.Pipeline;

namespace MiniLlmPipeline.Tests.Pipeline;

public sealed class OptionalUpstreamTests
{
    private static (string Spec, string RunDir) WriteSpec(TempDir temp)
    {
        var runDir = temp.File("runs");
        // The eval catalog entry hashes its prompts file; the test's body never reads it.
        var prompts = temp.Write("unused.parquet", "never read");
        var spec = temp.Write("p.yaml", $"name: opt\nrun_dir: {runDir}\ndevice: cpu\nstages:\n  eval: {{ prompts: {prompts} }}\n");
        return (spec, runDir);
    }

    private static int RunEval(string spec, Action onRun) => StageCli.Run(["--pipeline", spec],
        new StageProgram<EvalConfig>(StageCatalog.Eval) { Description = "test", Execute = _ => { onRun(); return new Dictionary<string, double>(); } });

    private static void WriteManifest(string runDir, string status, string outputHash) =>
        new Manifest
        {
            Stage = StageCatalog.Pretrain.Name, Pipeline = "opt", Status = status, SpecHash = "h",
            Inputs = new Dictionary<string, string>(), OutputHash = outputHash,
        }.Write(Directory.CreateDirectory(Path.Combine(runDir, StageCatalog.Pretrain.Name)).FullName);

    [Fact]
    public void MissingOptionalUpstream_DoesNotStopTheStage_AndItsCompletionMakesTheStageOutOfDate()
    {
        using var temp = new TempDir();
        var (spec, runDir) = WriteSpec(temp);
        var runs = 0;

        Assert.Equal(StageCli.ExitOk, RunEval(spec, () => runs++));
        Assert.Equal(StageCli.NotRun, Manifest.TryRead(Path.Combine(runDir, StageCatalog.Eval.Name))!.Inputs["stage:pretrain"]);
        Assert.Equal(StageCli.ExitOk, RunEval(spec, () => runs++));
        Assert.Equal(1, runs);   // up to date: nothing changed

        WriteManifest(runDir, StageStatus.Failed, "a");
        Assert.Equal(StageCli.ExitOk, RunEval(spec, () => runs++));
        Assert.Equal(1, runs);   // a failed upstream counts as not run

        WriteManifest(runDir, StageStatus.Complete, "a");
        Assert.Equal(StageCli.ExitOk, RunEval(spec, () => runs++));
        Assert.Equal(2, runs);
        Assert.Equal("a", Manifest.TryRead(Path.Combine(runDir, StageCatalog.Eval.Name))!.Inputs["stage:pretrain"]);

        WriteManifest(runDir, StageStatus.Complete, "b");   // retrained upstream
        Assert.Equal(StageCli.ExitOk, RunEval(spec, () => runs++));
        Assert.Equal(3, runs);
    }

    [Fact]
    public void UndefinedStage_IsSkippedWithSkipUndefined_AndOtherwiseAConfigError()
    {
        // make passes --skip-undefined to upstream stages: a spec without pretrain still runs `make eval`.
        using var temp = new TempDir();
        var (spec, runDir) = WriteSpec(temp);
        var runs = 0;
        var pretrain = new StageProgram<PretrainConfig>(StageCatalog.Pretrain) { Description = "test", Execute = _ => { runs++; return new Dictionary<string, double>(); } };

        Assert.Equal(StageCli.ExitOk, StageCli.Run(["--pipeline", spec, "--skip-undefined"], pretrain));
        Assert.Equal(StageCli.ExitBadInput, StageCli.Run(["--pipeline", spec], pretrain));
        Assert.Equal(0, runs);
        Assert.False(Directory.Exists(Path.Combine(runDir, StageCatalog.Pretrain.Name)));
    }
}
