using MiniLlmPipeline.Alignment;
using MiniLlmPipeline.Data;
using MiniLlmPipeline.Model;
using MiniLlmPipeline.Pipeline;
using MiniLlmPipeline.Training;
using TorchSharp;

namespace MiniLlmPipeline.Stages.RewardModel;

/// <summary>
/// Setup → train → save for the reward model: the <c>from:</c> checkpoint's trunk plus a freshly initialised scalar
/// head learns to score the chosen response above the rejected one. The checkpoint (trunk + <c>score.weight</c>) is
/// what PPO and Eval load with <see cref="ModelCheckpoint.LoadScalarHead"/>.
/// </summary>
internal static class RewardModelRecipe
{
    /// <summary>Training pairs scored after training for the reward statistics (a fixed prefix: the data is shuffled).</summary>
    private const int StatisticsPairs = 256;

    public static IReadOnlyDictionary<string, double> Run(StageContext<RewardModelConfig> context)
    {
        var config = context.Config;
        var upstream = UpstreamModel.Load(context.UpstreamDir(config.From), context.Spec.Model, context.Device);
        var tokenizer = upstream.Tokenizer;
        // With lora: the trunk trains adapters only, and the fresh scalar head below trains in full.
        context.AttachLora(upstream.Model);
        // The checked upstream trunk (what LoadScalarHead(from, headRequired: false) would give) under a fresh head,
        // initialised from the run seed so a rerun starts from the same reward model.
        torch.manual_seed(context.Spec.Seed);
        using var model = new ScalarHeadModel(upstream.Model);
        model.to(context.Device);

        var maxSeqLen = model.Config.MaxSeqLen;
        var train = PreferenceCollator.Load(config.Data, tokenizer, maxSeqLen);
        context.Log(train.Describe(config.Data));
        var validation = config.ValData is null ? null : PreferenceCollator.Load(config.ValData, tokenizer, maxSeqLen);
        if (validation is not null) context.Log(validation.Describe(config.ValData!));
        var meanLength = train.MeanLength;
        context.Log($"{model.Trunk.ParameterCount / 1e6:F2}M parameters from '{config.From}' + scalar head, " +
                    $"{train.Pairs.Count:N0} training pairs (mean {meanLength:F0} tokens per response), device {context.Device.type}");

        var sampler = new LengthBucketSampler(train.Pairs.Select(p => p.Length).ToList(), config.BatchSize, context.Spec.Seed);
        var objective = new RewardModelObjective(model, train.Pairs, sampler, validation?.Pairs ?? [],
            config.EvalBatches * config.BatchSize, config.BatchSize, tokenizer.PadId, context.Device);
        var result = new Trainer(context.TrainerOptions("reward model loss (Bradley–Terry)", model.Trunk.FlopsPerToken((int)meanLength)))
            .Train(model, objective, config, config.ResolveSteps(train.Pairs.Count));

        ModelCheckpoint.Save(context.StageDir, model, upstream.TokenizerDir);

        var metrics = result.ToMetrics();
        model.eval();
        AddRewardStatistics(metrics, objective, train.Pairs);
        train.AddTo(metrics);
        if (metrics.TryGetValue("val_accuracy", out var accuracy))
            context.Log($"validation: pairwise accuracy {accuracy:P1}, mean margin {metrics["val_margin"]:F3} on {objective.ValidationPairs} pairs");
        context.Log($"rewards on {Math.Min(StatisticsPairs, train.Pairs.Count)} training pairs: mean {metrics["reward_mean"]:F3}, " +
                    $"std {metrics["reward_std"]:F3}, accuracy {metrics["train_accuracy"]:P1}");
        return metrics;
    }

    /// <summary>
    /// Mean and standard deviation of the trained model's rewards over both responses of a prefix of the training pairs,
    /// so PPO can normalise scores to zero mean and unit variance; plus the pairwise accuracy on those pairs.
    /// </summary>
    private static void AddRewardStatistics(Dictionary<string, double> metrics, RewardModelObjective objective, IReadOnlyList<PreferencePair> pairs)
    {
        var rewards = objective.Rewards(pairs, Enumerable.Range(0, Math.Min(StatisticsPairs, pairs.Count)).ToList());
        var all = rewards.Chosen.Concat(rewards.Rejected).Select(r => (double)r).ToList();
        var mean = all.Average();
        metrics["reward_mean"] = mean;
        metrics["reward_std"] = Math.Sqrt(all.Sum(r => (r - mean) * (r - mean)) / Math.Max(1, all.Count - 1));
        metrics["train_accuracy"] = rewards.Chosen.Zip(rewards.Rejected, (c, r) => c > r ? 1.0 : 0.0).Average();
    }
}
