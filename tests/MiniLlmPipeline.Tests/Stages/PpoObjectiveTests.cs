using MiniLlmPipeline.Stages.Ppo;
using MiniLlmPipeline.Model;
using MiniLlmPipeline.Rlhf;
using MiniLlmPipeline.Training;
using TorchSharp;

namespace MiniLlmPipeline.Tests.Stages;

/// <summary>The PPO loop on a tiny random GPT with a rule-based reward, run by the shared trainer.</summary>
[Collection(GlobalGeneratorTests.Name)]
public sealed class PpoObjectiveTests
{
    private const int Stop = 0;
    private const int Pad = 1;
    private const int Favoured = 7;

    private static readonly GptConfig Tiny = new(VocabSize: 12, DModel: 16, NLayers: 1, NHeads: 2, NKvHeads: 1, FfnHidden: 32, MaxSeqLen: 32, RopeTheta: 10000);

    private static FavouredTokenReward Reward(int? failAtCall = null) => new(Stop, Favoured, failAtCall);

    private static readonly int[][] Prompts = [[2, 3, 4], [5, 6], [8, 9, 10, 11], [3, 3], [4, 9, 2], [11]];

    private static readonly PpoConfig Config = new()
    {
        Prompts = "unused", Iterations = 3, RolloutBatch = 16, MiniBatch = 8, PpoEpochs = 2, MaxNewTokens = 6,
        Lr = 1e-2, WarmupSteps = 0, MinLrRatio = 1, WeightDecay = 0, KlCoef = 0.02, LogEvery = 1, CheckpointEvery = 10_000,
    };

    private static (PolicyAndValue Model, Gpt Reference) NewModels()
    {
        torch.manual_seed(7);
        var policy = new Gpt(Tiny);
        torch.manual_seed(7);
        var reference = new Gpt(Tiny); // the same weights as the policy
        foreach (var p in reference.parameters()) p.requires_grad = false;
        torch.manual_seed(8);
        return (new PolicyAndValue(policy, new ScalarHeadModel(new Gpt(Tiny))), reference);
    }

    private static (List<PpoIterationSummary> Summaries, TrainingResult Result) Train(
        TempDir dir, PpoConfig config, IRolloutReward reward, bool resume = false)
    {
        var (model, reference) = NewModels();
        using var objective = new PpoObjective(model, reference, Prompts, reward, config, seed: 3, [Stop], Pad,
            dir.File(KlCoefficientHistory.FileName));
        var options = new TrainerOptions { StageDir = dir.Path, StateDir = dir.File("state"), StageName = "ppo-test", Resume = resume, Seed = 3 };
        var result = new Trainer(options).TrainIterations(model, objective, config, config.Iterations);
        return ([.. objective.Summaries], result);
    }

    [Fact]
    public void KlToReference_IsExactlyZero_AtTheFirstIteration()
    {
        using var dir = new TempDir();
        var (summaries, _) = Train(dir, Config with { Iterations = 1 }, Reward());

        Assert.Equal(0.0, summaries[0].Metrics["kl"]);
        Assert.Equal(0.0, summaries[0].Metrics["non_score_reward"]);
        // The first mini-batch is trained on before any update: the policy still equals the one that sampled.
        var first = MetricsLog.Read(dir.File(MetricsLog.FileName)).First(r => r["kind"].GetString() == "train");
        Assert.True(first["approx_kl"].GetDouble() < 1e-6, $"approx_kl {first["approx_kl"]}");
        Assert.Equal(0.0, first["clip_fraction"].GetDouble());
    }

    [Fact]
    public void Ppo_RaisesARuleBasedReward_ThatFavoursOneToken()
    {
        using var dir = new TempDir();
        var (summaries, _) = Train(dir, Config with { Iterations = 12 }, Reward());

        var first = summaries[0].Metrics["reward_mean"];
        var last = summaries.TakeLast(3).Average(s => s.Metrics["reward_mean"]);
        Assert.True(last > first + 0.25, $"reward went {first:F3} → {last:F3}");
        Assert.True(summaries[^1].Metrics["kl"] > 0, "the policy should have moved away from the reference");
        var records = MetricsLog.Read(dir.File(MetricsLog.FileName)).Where(r => r["kind"].GetString() == "ppo").ToList();
        Assert.Equal(12, records.Count);
        foreach (var key in new[] { "reward_mean", "kl", "kl_coef", "policy_loss", "value_loss", "clip_fraction", "approx_kl", "entropy",
                     "response_length", "gen_tokens_per_s", "train_tokens_per_s", "iteration_seconds", "favoured_fraction" })
            Assert.True(records[^1].ContainsKey(key), key);
    }

    [Fact]
    public void ResumeAtAnIterationBoundary_RegeneratesTheSameRollouts_AndRestoresTheAdaptiveKlCoefficient()
    {
        var config = Config with { Iterations = 3, KlTarget = 0.001, CheckpointEvery = 1 };   // every iteration
        using var straight = new TempDir();
        var (full, _) = Train(straight, config, Reward());

        using var crashed = new TempDir();
        // The third rollout's scoring fails: the run dies after the checkpoint at the end of iteration 2.
        Assert.Throws<InvalidOperationException>(() => Train(crashed, config, Reward(failAtCall: 2)));
        var (resumed, _) = Train(crashed, config, Reward(), resume: true);

        Assert.Single(resumed);
        Assert.NotEqual(config.KlCoef, full[2].Metrics["kl_coef"]); // the controller did adapt
        foreach (var key in new[] { "kl_coef", "reward_mean", "kl", "policy_loss", "value_loss", "response_length" })
            Assert.Equal(full[2].Metrics[key], resumed[0].Metrics[key]);
        Assert.Equal(full[2].Responses, resumed[0].Responses);
    }
}
