using MiniLlmPipeline.Model;
using MiniLlmPipeline.Pipeline;

namespace MiniLlmPipeline.Tests.Reliability;

/// <summary>Real stage processes killed with SIGKILL at arbitrary moments: nothing torn, and the rerun resumes exactly.</summary>
public sealed class CrashSafetyTests
{
    [Theory]
    [InlineData("tokenize", "pretrain")]
    [InlineData("pretrain", "sft")]
    [InlineData("sft", "distill")]
    public void KilledStage_ResumesOnRerun_AndMatchesTheUninterruptedRun(string upstream, string stage)
    {
        var program = StageCatalog.Find(stage)!;
        string[] overrides =
        [
            "--set", $"{stage}.steps=40", "--set", $"{stage}.checkpoint_every=10", "--set", $"{stage}.eval_every=20",
            "--set", $"{stage}.log_every=5", .. stage == "sft" ? ["--set", "sft.eval_samples=0"] : Array.Empty<string>(),
        ];
        using var straight = new TempDir();
        TinyRuns.CopyUpTo(upstream, straight.Path);
        var uninterrupted = TinyRuns.Run(program, straight.Path, overrides);
        Assert.True(uninterrupted.ExitCode == 0, uninterrupted.ToString());

        using var killed = new TempDir();
        TinyRuns.CopyUpTo(upstream, killed.Path);
        var stageDir = Path.Combine(killed.Path, stage);
        var stateFile = Path.Combine(stageDir, "state", "trainer.json");
        var rng = new Random(7);
        for (var attempt = 0; attempt < 3; attempt++)
        {
            var running = TinyRuns.Start(program, killed.Path, overrides);
            // Wait for at least one checkpoint, then kill at a random moment after it (possibly mid-write).
            running.WaitForFile(stateFile);
            Thread.Sleep(rng.Next(0, 400));
            if (running.Process.HasExited) break;
            running.Kill();
            Assert.NotEqual(StageStatus.Complete, Manifest.TryRead(stageDir)?.Status);
        }

        var resumed = TinyRuns.Run(program, killed.Path, overrides);
        Assert.True(resumed.ExitCode == 0, resumed.ToString());
        Assert.Equal(StageStatus.Complete, Manifest.TryRead(stageDir)!.Status);

        // Same losses at the same steps as the run that was never interrupted.
        MetricsSeries.AssertSameLosses(Path.Combine(straight.Path, stage), stageDir);
        using var model = ModelCheckpoint.LoadGpt(stageDir, TorchSharp.torch.CPU);
    }

    [Fact]
    public void SecondRunOfTheSameStage_IsRefusedWhileTheFirstHoldsTheLock()
    {
        using var temp = new TempDir();
        TinyRuns.CopyUpTo("tokenize", temp.Path);
        var first = TinyRuns.Start(StageCatalog.Pretrain, temp.Path, "--set", "pretrain.steps=100000");
        try
        {
            var manifestPath = Path.Combine(temp.Path, "pretrain", Manifest.FileName);
            first.WaitForFile(manifestPath, timeoutSeconds: 60);
            var second = TinyRuns.Run(StageCatalog.Pretrain, temp.Path, "--set", "pretrain.steps=100000");
            StageAssert.FailedClearly(second, "already running");
        }
        finally { first.Kill(); }
    }

    [Fact]
    public void ResidentMemory_StopsGrowingOnceWarm()
    {
        using var temp = new TempDir();
        TinyRuns.CopyUpTo("tokenize", temp.Path);
        // The .NET GC's gen0 budget scales with the L3 cache: with a 105 MB L3 the first collection came only after
        // ~57 MB of (dead) allocations, near step 950, so RSS rose 286 → 337 MB from step 300 to 900 and then stayed
        // at 332-334 MB to step 3000: a plateau, not a leak. Capping the budget at 6 MB (an unsupported knob, for this
        // test only) makes the GC run every few dozen steps on any machine, so RSS after warm-up tracks what is retained.
        var result = TinyRuns.Run(StageCatalog.Pretrain, temp.Path, new Dictionary<string, string> { ["DOTNET_GCGen0MaxBudget"] = "0x600000" },
            "--set", "pretrain.steps=900", "--set", "pretrain.batch_size=2", "--set", "pretrain.log_every=50",
            "--set", "pretrain.eval_every=100", "--set", "pretrain.checkpoint_every=100");
        Assert.True(result.ExitCode == 0, result.ToString());
        var stageDir = Path.Combine(temp.Path, "pretrain");
        // Every tensor a step creates is disposed by the end of the step (eval and checkpoints included): the count of
        // live tensors is exact and machine-independent, and rises by one a step if a batch of logits escapes its
        // dispose scope (measured: 363 → 963; TorchSharp's zero_grad leaked one handle per parameter per step: +20 a step).
        var live = MetricsSeries.Of(stageDir, "live_tensors");
        Assert.True(live[900] == live[300], $"live tensors went from {live[300]} at step 300 to {live[900]} at step 900");
        // A leak the finalizer cannot reclaim (a tensor kept referenced, or other native memory) shows as rising RSS
        // (keeping one batch of logits per step, 590 KB, measured 409 → 773 MB; without a leak, with the capped
        // budget: +3%, 278 → 286 MB).
        var rss = MetricsSeries.Of(stageDir, "rss_mb");
        Assert.True(rss[900] <= rss[300] * 1.10, $"RSS grew from {rss[300]:F0} MB at step 300 to {rss[900]:F0} MB at step 900");
    }
}
