using MiniLlmPipeline.Alignment;
using MiniLlmPipeline.Model;
using MiniLlmPipeline.Pipeline;
using TorchSharp;

namespace MiniLlmPipeline.Tests.Stages;

public sealed class RewardModelStageTests
{
    // Enough steps at a high learning rate for the tiny model to separate its own training pairs: 80 were enough on
    // AVX-512, but left 88 % on an AVX2 machine, whose kernels round differently.
    private static readonly string[] Overrides =
    [
        "--set", "reward_model.steps=160", "--set", "reward_model.batch_size=16",
        "--set", "reward_model.lr=5e-3", "--set", "reward_model.eval_every=20", "--set", "reward_model.log_every=10",
    ];

    [Fact]
    public void RewardModel_WritesAScalarHeadCheckpoint_RanksItsTrainingPairs_AndIsSkippedWhenUpToDate()
    {
        using var temp = new TempDir();
        TinyRuns.CopyUpTo("sft", temp.Path);
        var stageDir = Path.Combine(temp.Path, StageCatalog.RewardModel.Name);

        var run = TinyRuns.Run(StageCatalog.RewardModel, temp.Path, Overrides);
        Assert.True(run.ExitCode == 0, run.ToString());

        var manifest = Manifest.TryRead(stageDir)!;
        Assert.Equal(StageStatus.Complete, manifest.Status);
        foreach (var file in new[] { ModelCheckpoint.WeightsFile, ModelCheckpoint.ConfigFile, "metrics.jsonl", "loss.png" })
            Assert.True(File.Exists(Path.Combine(stageDir, file)), file);
        Assert.True(File.Exists(Path.Combine(stageDir, ModelCheckpoint.TokenizerFolder, "vocab.json")));
        var metrics = manifest.Metrics!;
        Assert.InRange(metrics["val_accuracy"], 0, 1);
        foreach (var key in new[] { "val_margin", "val_loss", "reward_mean", "train_accuracy" }) Assert.True(double.IsFinite(metrics[key]), key);
        Assert.True(metrics["reward_std"] > 0);
        Assert.Contains("LlamaForSequenceClassification", File.ReadAllText(Path.Combine(stageDir, ModelCheckpoint.ConfigFile)));

        // What PPO and Eval do: load trunk + head, score prompt + response at its last token.
        using var model = ModelCheckpoint.LoadScalarHead(stageDir, torch.CPU, headRequired: true);
        model.eval();
        var (pairs, padId) = TinyPreferences.Training(stageDir);
        var separable = TinyPreferences.Distinguishable(pairs);
        Assert.True(separable.Count >= 40, $"only {separable.Count} tiny pairs differ inside the window");
        var rewards = PreferenceCollator.Map(separable, Enumerable.Range(0, separable.Count).ToList(), 16, padId, torch.CPU,
            b => b.AtLastToken(model.Scores(b.InputIds)));
        var accuracy = rewards.Chosen.Zip(rewards.Rejected, (c, r) => c > r ? 1.0 : 0.0).Average();
        Assert.True(accuracy > 0.9, $"training-pair accuracy {accuracy:P1} on {separable.Count} pairs");

        var again = TinyRuns.Run(StageCatalog.RewardModel, temp.Path, Overrides);
        StageAssert.UpToDate(again);
    }

    [Fact]
    public void RewardModel_WithoutItsFromStage_FailsWithOneClearMessage()
    {
        using var temp = new TempDir();
        TinyRuns.CopyUpTo("pretrain", temp.Path);
        var result = TinyRuns.Run(StageCatalog.RewardModel, temp.Path);
        StageAssert.FailedClearly(result, "needs the checkpoint of stage 'sft'");
    }
}
