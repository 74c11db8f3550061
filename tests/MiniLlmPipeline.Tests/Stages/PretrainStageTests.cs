using MiniLlmPipeline.Model;
using MiniLlmPipeline.Pipeline;

namespace MiniLlmPipeline.Tests.Stages;

public sealed class PretrainStageTests
{
    [Fact]
    public void Pretrain_WritesACompleteCheckpoint_LowersTheLoss_AndIsSkippedWhenUpToDate()
    {
        using var temp = new TempDir();
        TinyRuns.CopyUpTo("pretrain", temp.Path);
        var stageDir = Path.Combine(temp.Path, "pretrain");

        var manifest = Manifest.TryRead(stageDir)!;
        Assert.Equal(StageStatus.Complete, manifest.Status);
        foreach (var file in new[] { ModelCheckpoint.WeightsFile, ModelCheckpoint.ConfigFile, "samples.txt", "loss.png", "metrics.jsonl" })
            Assert.True(File.Exists(Path.Combine(stageDir, file)), file);
        Assert.True(File.Exists(Path.Combine(stageDir, ModelCheckpoint.TokenizerFolder, "vocab.json")));

        var losses = MetricsSeries.Of(stageDir, "loss").Values.ToList();
        Assert.True(losses[^1] < losses[0] - 0.3, $"loss went {losses[0]} → {losses[^1]}");
        Assert.True(manifest.Metrics!["val_loss"] > 0 && manifest.Metrics["mfu"] > 0);

        var again = TinyRuns.Run(StageCatalog.Pretrain, temp.Path);
        StageAssert.UpToDate(again);
    }

    [Fact]
    public void Pretrain_WithoutATokenizeRun_FailsWithOneClearMessage()
    {
        using var temp = new TempDir();
        var result = TinyRuns.Run(StageCatalog.Pretrain, temp.Path);
        StageAssert.FailedClearly(result, "needs the checkpoint of stage 'tokenize'");
    }
}
