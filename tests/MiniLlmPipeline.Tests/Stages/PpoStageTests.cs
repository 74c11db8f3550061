using MiniLlmPipeline.Model;
using MiniLlmPipeline.Pipeline;
using MiniLlmPipeline.Training;
using TorchSharp;

namespace MiniLlmPipeline.Tests.Stages;

public sealed class PpoStageTests
{
    [Fact]
    public void Ppo_TrainsThePolicy_LogsEveryIteration_AndRecordsComplianceBeforeAndAfter()
    {
        using var temp = new TempDir();
        TinyRuns.CopyUpTo("reward_model", temp.Path);

        var result = TinyRuns.Run(StageCatalog.Ppo, temp.Path, "--set", "ppo.reward.form=0.5");
        Assert.True(result.ExitCode == 0, result.ToString());

        var stageDir = Path.Combine(temp.Path, StageCatalog.Ppo.Name);
        var manifest = Manifest.TryRead(stageDir)!;
        Assert.Equal(StageStatus.Complete, manifest.Status);
        foreach (var file in new[] { ModelCheckpoint.WeightsFile, ModelCheckpoint.ConfigFile, "samples.md", "reward.png", "kl.png", "compliance.md" })
            Assert.True(File.Exists(Path.Combine(stageDir, file)), file);
        foreach (var key in new[] { "compliance_before", "compliance_after", "form_score_before", "form_score_after", "reward_mean", "kl" })
            Assert.True(manifest.Metrics!.ContainsKey(key), key);

        var ppo = MetricsLog.Read(Path.Combine(stageDir, MetricsLog.FileName)).Where(r => r["kind"].GetString() == "ppo").ToList();
        Assert.Equal(3, ppo.Count);
        Assert.Equal(0.0, ppo[0]["kl"].GetDouble());
        Assert.Contains("iteration 3/3", result.StdErr);
        Assert.Contains("4 of 16 prompts held out for form compliance", result.StdErr);

        // The exported policy is a plain language model that downstream stages load.
        using var policy = ModelCheckpoint.LoadGpt(stageDir, torch.CPU);
        Assert.Equal(ModelCheckpoint.ReadConfig(Path.Combine(temp.Path, StageCatalog.Sft.Name)), policy.Config);

        var again = TinyRuns.Run(StageCatalog.Ppo, temp.Path, "--set", "ppo.reward.form=0.5");
        StageAssert.UpToDate(again);
    }

    [Fact]
    public void Ppo_WithoutARewardModel_FailsWithOneClearMessage()
    {
        using var temp = new TempDir();
        TinyRuns.CopyUpTo("sft", temp.Path);
        var result = TinyRuns.Run(StageCatalog.Ppo, temp.Path);
        StageAssert.FailedClearly(result, "needs the checkpoint of stage 'reward_model'");
    }
}
