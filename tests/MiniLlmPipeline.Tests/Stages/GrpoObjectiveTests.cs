using MiniLlmPipeline.Model;
using MiniLlmPipeline.Rlhf;
using MiniLlmPipeline.Stages.Grpo;
using MiniLlmPipeline.Training;
using TorchSharp;

namespace MiniLlmPipeline.Tests.Stages;

/// <summary>The GRPO loop on a tiny random GPT with a rule-based reward, run by the shared trainer.</summary>
[Collection(GlobalGeneratorTests.Name)]
public sealed class GrpoObjectiveTests
{
    private const int Stop = 0;
    private const int Pad = 1;
    private const int Favoured = 7;

    private static readonly GptConfig Tiny = new(VocabSize: 12, DModel: 16, NLayers: 1, NHeads: 2, NKvHeads: 1, FfnHidden: 32, MaxSeqLen: 32, RopeTheta: 10000);

    private static FavouredTokenReward Reward(int? failAtCall = null) => new(Stop, Favoured, failAtCall);

    private static readonly int[][] Prompts = [[2, 3, 4], [5, 6], [8, 9, 10, 11], [3, 3], [4, 9, 2], [11]];

    private static readonly GrpoConfig Config = new()
    {
        Prompts = "unused", Iterations = 3, PromptsPerIteration = 4, GroupSize = 4, MiniBatch = 8, Epochs = 2, MaxNewTokens = 6,
        Temperature = 1.0, TopP = 1.0, Lr = 1e-2, WarmupSteps = 0, MinLrRatio = 1, WeightDecay = 0, Beta = 0.02, LogEvery = 1,
        CheckpointEvery = 10_000,
    };

    private static (List<IReadOnlyDictionary<string, double>> Summaries, Gpt Policy) Train(TempDir dir, GrpoConfig config, IRolloutReward reward,
        bool resume = false)
    {
        torch.manual_seed(7);
        var policy = new Gpt(Tiny);
        torch.manual_seed(7);
        var reference = FrozenModel.Freeze(new Gpt(Tiny)); // the same weights as the policy
        using var objective = new GrpoObjective(policy, reference, Prompts, reward, config, seed: 3, [Stop], Pad);
        var options = new TrainerOptions { StageDir = dir.Path, StateDir = dir.File("state"), StageName = "grpo-test", Resume = resume, Seed = 3 };
        new Trainer(options).TrainIterations(policy, objective, config, config.Iterations);
        return ([.. objective.Summaries], policy);
    }

    [Fact]
    public void KlToReference_IsZero_AndNothingIsClipped_BeforeTheFirstUpdate()
    {
        using var dir = new TempDir();
        var (summaries, _) = Train(dir, Config with { Iterations = 1 }, Reward());

        Assert.Equal(0.0, summaries[0]["kl"], 6);
        var first = MetricsLog.Read(dir.File(MetricsLog.FileName)).First(r => r["kind"].GetString() == "train");
        Assert.True(first["kl_update"].GetDouble() < 1e-6, $"kl {first["kl_update"]}");
        Assert.Equal(0.0, first["clip_fraction"].GetDouble());
        Assert.Equal(Config.StepsPerIteration, MetricsLog.Read(dir.File(MetricsLog.FileName)).Count(r => r["kind"].GetString() == "train"));
    }

    [Fact]
    public void Grpo_RaisesARuleBasedReward_ThatFavoursOneToken()
    {
        using var dir = new TempDir();
        var (summaries, _) = Train(dir, Config with { Iterations = 12 }, Reward());

        var first = summaries.Take(2).Average(s => s["reward_mean"]);
        var last = summaries.TakeLast(3).Average(s => s["reward_mean"]);
        Assert.True(last > first + 0.25, $"reward went {first:F3} → {last:F3}");
        Assert.True(summaries[^1]["kl"] > 0, "the policy should have moved away from the reference");
        var records = MetricsLog.Read(dir.File(MetricsLog.FileName)).Where(r => r["kind"].GetString() == GrpoObjective.Kind).ToList();
        Assert.Equal(12, records.Count);
        foreach (var key in new[] { "reward_mean", "kl", "policy_loss", "clip_fraction", "zero_variance_groups", "reward_std_in_group",
                     "response_length", "gen_tokens_per_s", "train_tokens_per_s", "iteration_seconds", "favoured_fraction" })
            Assert.True(records[^1].ContainsKey(key), key);
    }

    [Fact]
    public void OneUpdateStepPerIteration_UsesItsOwnLogProbsAsPiOld_AndStillLearns()
    {
        // Epochs 1 and one mini-batch of all rows: no π_old forward at collection; the ratio is exactly 1, so nothing is
        // clipped, and the iteration's kl is the step's own.
        var config = Config with { Iterations = 20, Epochs = 1, MiniBatch = Config.Rows, Lr = 2e-2 };
        using var dir = new TempDir();
        var (summaries, _) = Train(dir, config, Reward());

        Assert.Equal(1, config.StepsPerIteration);
        var train = MetricsLog.Read(dir.File(MetricsLog.FileName)).Where(r => r["kind"].GetString() == "train").ToList();
        Assert.Equal(20, train.Count);
        Assert.All(train, r => Assert.Equal(0.0, r["clip_fraction"].GetDouble()));
        Assert.Equal(0.0, summaries[0]["kl"], 6);
        Assert.All(summaries, s => Assert.Equal(s["kl_update"], s["kl"]));
        Assert.True(summaries[^1]["kl"] > 0, "the policy should have moved away from the reference");
        var first = summaries.Take(2).Average(s => s["reward_mean"]);
        var last = summaries.TakeLast(3).Average(s => s["reward_mean"]);
        Assert.True(last > first + 0.25, $"reward went {first:F3} → {last:F3}");
    }

    [Fact]
    public void ResumeAtAnIterationBoundary_RegeneratesTheSameAnswers_AndEndsWithTheSameWeights()
    {
        var config = Config with { Iterations = 3, CheckpointEvery = 1 };   // every iteration
        using var straight = new TempDir();
        var (full, fullPolicy) = Train(straight, config, Reward());

        using var crashed = new TempDir();
        // The third iteration's scoring fails: the run dies after the checkpoint at the end of iteration 2.
        Assert.Throws<InvalidOperationException>(() => Train(crashed, config, Reward(failAtCall: 2)));
        var (resumed, resumedPolicy) = Train(crashed, config, Reward(), resume: true);

        Assert.Single(resumed);
        foreach (var key in new[] { "reward_mean", "kl", "policy_loss", "clip_fraction", "response_length" })
            Assert.Equal(full[2][key], resumed[0][key]);
        foreach (var (a, b) in fullPolicy.parameters().Zip(resumedPolicy.parameters()))
            Assert.Equal(a.data<float>().ToArray(), b.data<float>().ToArray());
    }
}
