using MiniLlmPipeline.Data;
using MiniLlmPipeline.Model;
using MiniLlmPipeline.Pipeline;
using MiniLlmPipeline.Stages.Dpo;
using MiniLlmPipeline.Training;

namespace MiniLlmPipeline.Tests.Stages;

public sealed class OnPolicyDpoStageTests
{
    private static readonly string[] OnPolicy =
    [
        "--set", "dpo.mode=on_policy", "--set", "dpo.prompts=data/tiny/prompts.parquet", "--set", "dpo.rounds=2",
        "--set", "dpo.prompts_per_round=6", "--set", "dpo.samples_per_prompt=3", "--set", "dpo.max_new_tokens=16",
        "--set", "dpo.steps_per_round=2", "--set", "dpo.margin=0", "--set", "dpo.log_every=1",
    ];

    [Fact]
    public void OnPolicyDpo_SamplesPairsEachRound_WritesThemAsAPreferenceDataset_AndTrains()
    {
        using var temp = new TempDir();
        TinyRuns.CopyUpTo("sft", temp.Path);

        var result = TinyRuns.Run(StageCatalog.Dpo, temp.Path, OnPolicy);
        Assert.True(result.ExitCode == 0, result.ToString());

        var stageDir = Path.Combine(temp.Path, StageCatalog.Dpo.Name);
        var manifest = Manifest.TryRead(stageDir)!;
        Assert.Equal(StageStatus.Complete, manifest.Status);
        foreach (var key in new[] { "compliance_before", "compliance_after", "sampled_pairs", "rounds" })
            Assert.True(manifest.Metrics!.ContainsKey(key), key);
        Assert.Contains("round 2/2", result.StdErr);

        var rounds = MetricsLog.Read(Path.Combine(stageDir, MetricsLog.FileName)).Where(r => r["kind"].GetString() == "dpo_round").ToList();
        Assert.Equal(2, rounds.Count);
        // Each round's reference is the policy that sampled it: a round's first step starts at the DPO loss of a tie, log 2
        // (a round without a readable pair trains on nothing: loss 0).
        var train = MetricsLog.Read(Path.Combine(stageDir, MetricsLog.FileName)).Where(r => r["kind"].GetString() == "train").ToList();
        Assert.Equal(4, train.Count);
        for (var round = 0; round < 2; round++)
            Assert.Equal(rounds[round]["pairs"].GetDouble() > 0 ? Math.Log(2) : 0, train[2 * round]["loss"].GetDouble(), 4);

        // Every pair the rounds made is in the file, or counted as unreadable (the tiny model often stops mid-character).
        var pairs = new SampledPairsFile(Path.Combine(stageDir, SampledPairsFile.FileName)).Read();
        Assert.Equal((int)manifest.Metrics!["sampled_pairs"], pairs.Count);
        Assert.Equal(rounds.Sum(r => r["pairs"].GetDouble() + r["unreadable_pairs"].GetDouble()),
            rounds.Sum(r => r["unreadable_pairs"].GetDouble()) + pairs.Count);
        Assert.All(pairs, p => Assert.True(p.ChosenReward > p.RejectedReward));
    }

    [Fact]
    public void SampledPairsFile_IsAPreferenceDataset_AndAResumedRoundReplacesOnlyItselfAndLater()
    {
        using var temp = new TempDir();
        var file = new SampledPairsFile(temp.File(SampledPairsFile.FileName));
        file.Record(0, [new(0, "写一首五绝", "床前明月光，疑是地上霜。", "床前", 1.5, -0.5)]);
        file.Record(1, [new(1, "写一首七绝", "白日依山尽", "黄河", 0.7, 0.1), new(1, "p", "a", "b", 2, 1)]);
        file.Record(1, [new(1, "写一首七绝", "白日依山尽", "黄河", 0.9, 0.2)]);   // round 1 again, as a resumed run would

        var rows = file.Read();
        Assert.Equal([0, 1], rows.Select(r => r.Round));
        Assert.Equal([1.5, 0.9], rows.Select(r => r.ChosenReward));
        var asDataset = ParquetDatasets.ReadPreferences(file.Path);
        Assert.Equal([new PreferenceExample("写一首五绝", "床前明月光，疑是地上霜。", "床前"), new PreferenceExample("写一首七绝", "白日依山尽", "黄河")],
            asDataset);
        file.Record(0, []);   // a fresh run starts the file over
        Assert.Empty(file.Read());
    }

    [Theory]
    [InlineData("dpo.samples_per_prompt=1", "stages.dpo.samples_per_prompt", "at least 2")]
    [InlineData("dpo.mode=online", "stages.dpo.mode", "must be 'offline' or 'on_policy'")]
    public void OnPolicyDpo_BadSpec_FailsWithOneSentenceNamingTheKey(string set, string key, string says)
    {
        using var temp = new TempDir();
        TinyRuns.CopyUpTo("sft", temp.Path);
        var result = TinyRuns.Run(StageCatalog.Dpo, temp.Path, [.. OnPolicy, "--set", set]);
        StageAssert.FailedClearly(result, key, says);
    }
}
