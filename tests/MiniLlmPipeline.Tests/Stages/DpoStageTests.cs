using MiniLlmPipeline.Alignment;
using MiniLlmPipeline.Model;
using MiniLlmPipeline.Pipeline;
using MiniLlmPipeline.Tests.Model;
using MiniLlmPipeline.Training;
using MiniLlmPipeline.Tests.Tokenization;
using MiniLlmPipeline.Tokenization;
using TorchSharp;
using static TorchSharp.torch;

namespace MiniLlmPipeline.Tests.Stages;

public sealed class DpoStageTests
{
    // Every step logged, so the first logged loss is step 0's: computed before any update, with policy == reference.
    private static readonly string[] Overrides =
    [
        "--set", "dpo.steps=30", "--set", "dpo.lr=3e-3", "--set", "dpo.log_every=1",
        "--set", "dpo.eval_every=15",
    ];

    [Fact]
    public void Dpo_StartsAtLog2_RaisesTheChosenOverRejectedMargin_RecordsCompliance_AndIsSkippedWhenUpToDate()
    {
        using var temp = new TempDir();
        TinyRuns.CopyUpTo("sft", temp.Path);
        var stageDir = Path.Combine(temp.Path, StageCatalog.Dpo.Name);

        var run = TinyRuns.Run(StageCatalog.Dpo, temp.Path, Overrides);
        Assert.True(run.ExitCode == 0, run.ToString());

        var manifest = Manifest.TryRead(stageDir)!;
        Assert.Equal(StageStatus.Complete, manifest.Status);
        foreach (var file in new[] { ModelCheckpoint.WeightsFile, ModelCheckpoint.ConfigFile, "metrics.jsonl", "loss.png", "samples.md" })
            Assert.True(File.Exists(Path.Combine(stageDir, file)), file);
        var metrics = manifest.Metrics!;
        foreach (var key in new[] { "compliance_before", "compliance_after", "form_score_before", "form_score_after", "val_reward_accuracy" })
            Assert.InRange(metrics[key], 0, 1);
        Assert.True(double.IsFinite(metrics["val_loss"]) && double.IsFinite(metrics["val_reward_margin"]));

        var train = MetricsLog.Read(Path.Combine(stageDir, MetricsLog.FileName)).Where(r => r["kind"].GetString() == "train").ToList();
        Assert.Equal(Math.Log(2), train[0]["loss"].GetDouble(), 4);
        Assert.Equal(0, train[0]["reward_margin"].GetDouble(), 4);
        foreach (var key in new[] { "reward_accuracy", "chosen_reward", "rejected_reward" }) Assert.True(train[^1].ContainsKey(key), key);

        // The policy now prefers the chosen responses more than the reference (the from: checkpoint) does.
        var (pairs, padId) = TinyPreferences.Training(stageDir);
        var separable = TinyPreferences.Distinguishable(pairs);
        var policyMargin = MeanLogProbMargin(stageDir, separable, padId);
        var referenceMargin = MeanLogProbMargin(Path.Combine(temp.Path, StageCatalog.Sft.Name), separable, padId);
        Assert.True(policyMargin > referenceMargin + 0.5, $"log π(y_c) − log π(y_r): reference {referenceMargin:F3}, policy {policyMargin:F3}");

        var again = TinyRuns.Run(StageCatalog.Dpo, temp.Path, Overrides);
        StageAssert.UpToDate(again);
    }

    [Fact]
    public void Dpo_ReferenceLogProbsComputedBeforeTraining_GiveLog2_AndGradientReachesOnlyThePolicy()
    {
        // The stage's scheme in miniature: the reference is the policy's own log-probs, computed once without gradient.
        var tokenizer = TextTokenizer.FromModel(new BpeTrainer(400, 1).Train([.. TokenizerCorpus.Poems, "user\nassistant\n"]));
        var pairs = PreferenceCollator.Render(tokenizer,
            [new("写一首诗", "床前明月光", "疑是地上霜"), new("续写", "白日依山尽，黄河入海流。", "黄河入海流")], 128).Pairs;
        torch.manual_seed(11);
        using var policy = new Gpt(TinyModels.Config with { VocabSize = tokenizer.VocabSize, MaxSeqLen = 128 });
        var reference = PreferenceCollator.Map(pairs, [0, 1], 2, tokenizer.PadId, CPU, b => b.ResponseLogProbs(policy));

        using var batch = PreferenceCollator.Collate(pairs, tokenizer.PadId);
        var (chosen, rejected) = batch.Split(batch.ResponseLogProbs(policy));
        using var referenceChosen = tensor(reference.Chosen);
        using var referenceRejected = tensor(reference.Rejected);
        var result = DpoLoss.Compute(chosen, rejected, referenceChosen, referenceRejected, beta: 0.1);

        Assert.Equal(Math.Log(2), result.Loss.item<float>(), 5);
        Assert.False(referenceChosen.requires_grad || referenceRejected.requires_grad);
        result.Loss.backward();
        var gradients = policy.parameters().Select(p => p.grad).ToList();
        Assert.All(gradients, g => Assert.NotNull(g));
        Assert.Contains(gradients, g => g!.abs().max().item<float>() > 0);
    }

    [Fact]
    public void Dpo_KilledAfterACheckpoint_ResumesWithTheSameReferenceAndLosses()
    {
        string[] overrides = ["--set", "dpo.steps=24", "--set", "dpo.checkpoint_every=8", "--set", "dpo.log_every=4", "--set", "dpo.eval_samples=0"];
        using var straight = new TempDir();
        TinyRuns.CopyUpTo("sft", straight.Path);
        var uninterrupted = TinyRuns.Run(StageCatalog.Dpo, straight.Path, overrides);
        Assert.True(uninterrupted.ExitCode == 0, uninterrupted.ToString());

        using var killed = new TempDir();
        TinyRuns.CopyUpTo("sft", killed.Path);
        var running = TinyRuns.Start(StageCatalog.Dpo, killed.Path, overrides);
        var stateFile = Path.Combine(killed.Path, StageCatalog.Dpo.Name, "state", "trainer.json");
        running.WaitForFile(stateFile);
        Assert.False(running.Process.HasExited, "the run finished before it could be killed");
        running.Kill();

        // The resumed run recomputes the reference from the from: checkpoint, not from the half-trained policy.
        var resumed = TinyRuns.Run(StageCatalog.Dpo, killed.Path, overrides);
        Assert.True(resumed.ExitCode == 0, resumed.ToString());
        Assert.Contains("resuming from step", resumed.StdErr);
        MetricsSeries.AssertSameLosses(Path.Combine(straight.Path, StageCatalog.Dpo.Name), Path.Combine(killed.Path, StageCatalog.Dpo.Name));
    }

    /// <summary>Mean over pairs of log π(chosen | prompt) − log π(rejected | prompt) under a checkpoint's language model.</summary>
    private static double MeanLogProbMargin(string checkpointDir, IReadOnlyList<PreferencePair> pairs, int padId)
    {
        using var model = ModelCheckpoint.LoadGpt(checkpointDir, CPU);
        var logProbs = PreferenceCollator.Map(pairs, Enumerable.Range(0, pairs.Count).ToList(), 16, padId, CPU,
            b => b.ResponseLogProbs(model));
        return logProbs.Chosen.Zip(logProbs.Rejected, (c, r) => (double)c - r).Average();
    }
}
