using MiniLlmPipeline.Data;
using MiniLlmPipeline.Model;
using MiniLlmPipeline.Pipeline;
using MiniLlmPipeline.Stages.Grpo;
using MiniLlmPipeline.Training;
using TorchSharp;

namespace MiniLlmPipeline.Tests.Stages;

public sealed class GrpoStageTests
{
    [Fact]
    public void Grpo_TrainsThePolicy_LogsEveryIteration_AndRecordsComplianceBeforeAndAfter()
    {
        using var temp = new TempDir();
        TinyRuns.CopyUpTo("sft", temp.Path);

        var result = TinyRuns.Run(StageCatalog.Grpo, temp.Path);
        Assert.True(result.ExitCode == 0, result.ToString());

        var stageDir = Path.Combine(temp.Path, StageCatalog.Grpo.Name);
        var manifest = Manifest.TryRead(stageDir)!;
        Assert.Equal(StageStatus.Complete, manifest.Status);
        foreach (var file in new[] { ModelCheckpoint.WeightsFile, ModelCheckpoint.ConfigFile, "samples.md", "reward.png", "kl.png", "compliance.md" })
            Assert.True(File.Exists(Path.Combine(stageDir, file)), file);
        foreach (var key in new[] { "compliance_before", "compliance_after", "rhyme_rate_after", "reward_mean", "kl", "missing_end_rate" })
            Assert.True(manifest.Metrics!.ContainsKey(key), key);

        var records = MetricsLog.Read(Path.Combine(stageDir, MetricsLog.FileName)).Where(r => r["kind"].GetString() == GrpoObjective.Kind).ToList();
        Assert.Equal(3, records.Count);
        Assert.Equal(0.0, records[0]["kl"].GetDouble(), 6);   // the first answers come from the reference itself
        Assert.Contains("iteration 3/3", result.StdErr);
        Assert.Contains("4 of 16 prompts held out for form compliance", result.StdErr);

        using var policy = ModelCheckpoint.LoadGpt(stageDir, torch.CPU);
        Assert.Equal(ModelCheckpoint.ReadConfig(Path.Combine(temp.Path, StageCatalog.Sft.Name)), policy.Config);
        StageAssert.UpToDate(TinyRuns.Run(StageCatalog.Grpo, temp.Path));
    }

    [Theory]
    [InlineData("grpo.group_size=1", "stages.grpo.group_size", "must be at least 2")]
    [InlineData("grpo.reward.model=0.5", "stages.grpo.reward.model", "needs reward_model")]
    [InlineData("grpo.reward.missing_end=-1", "stages.grpo.reward.missing_end", "must not be negative")]
    [InlineData("grpo.reward.repetition=-2", "stages.grpo.reward.repetition", "must not be negative")]
    [InlineData("grpo.reward.rhyme=.inf", "stages.grpo.reward.rhyme", "expected a number")]
    [InlineData("grpo.reward_model=reward_model", "reward_model", "reward_model")]
    public void Grpo_BadSpec_FailsWithOneSentenceNamingTheKey_AndLeavesNoCheckpoint(string set, string key, string says)
    {
        using var temp = new TempDir();
        TinyRuns.CopyUpTo("sft", temp.Path);   // no reward_model stage ran
        var result = TinyRuns.Run(StageCatalog.Grpo, temp.Path, "--set", set);
        StageAssert.FailedClearly(result, key, says);
        Assert.False(File.Exists(Path.Combine(temp.Path, StageCatalog.Grpo.Name, ModelCheckpoint.WeightsFile)));
    }

    [Fact]
    public void Grpo_OnPromptsThatAreAllHeldOut_FailsClearly()
    {
        using var temp = new TempDir();
        TinyRuns.CopyUpTo("sft", temp.Path);
        var result = TinyRuns.Run(StageCatalog.Grpo, temp.Path, "--set", "grpo.eval_samples=16");
        StageAssert.FailedClearly(result, "prompts.parquet", "held out");
    }
}
