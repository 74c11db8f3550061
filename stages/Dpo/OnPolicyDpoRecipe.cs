using MiniLlmPipeline.Generation;
using MiniLlmPipeline.Model;
using MiniLlmPipeline.Pipeline;
using MiniLlmPipeline.Rlhf;
using MiniLlmPipeline.Training;
using TorchSharp;

namespace MiniLlmPipeline.Stages.Dpo;

/// <summary>
/// Setup → rounds → save for on-policy DPO (<c>mode: on_policy</c>): the policy from <c>from:</c>, the optional frozen
/// reward model, the <see cref="OnPolicyDpoObjective"/> run by the shared trainer round by round, the sampled pairs in the
/// stage folder (pairs.parquet), and held-out form compliance before and after.
/// </summary>
internal static class OnPolicyDpoRecipe
{
    public static IReadOnlyDictionary<string, double> Run(StageContext<DpoConfig> context)
    {
        var config = context.Config;
        var seed = context.Spec.Seed;
        var (prompts, evalPrompts) = StageComplianceCheck.RlPrompts(context, config.Prompts!, config.EvalPrompts, config.EvalSamples);

        torch.manual_seed(seed);
        var upstream = UpstreamModel.Load(context.UpstreamDir(config.From), context.Spec.Model, context.Device);
        using var policy = upstream.Model;
        context.AttachLora(policy);
        var tokenizer = upstream.Tokenizer;
        using var rewardModel = config.RewardModel is { } rm
            ? FrozenModel.Freeze(ModelCheckpoint.LoadScalarHead(context.UpstreamDir(rm), context.Device, headRequired: true)) : null;
        context.Log($"on-policy DPO of '{config.From}' ({policy.ParameterCount / 1e6:F2}M): {config.Rounds} rounds × {config.PromptsPerRound} " +
                    $"prompts × {config.SamplesPerPrompt} answers (best vs worst, margin {config.Margin}), {config.StepsPerRound} steps of " +
                    $"{config.BatchSize} pairs per round, β {config.Beta}, reward {config.Reward.Formula()}" +
                    $"{(config.RewardModel is { } name ? $" (reward model '{name}')" : "")}, {prompts.Count} prompts, device {context.Device.type}");

        var generator = new TextGenerator(policy, tokenizer, chat: true);
        var before = StageComplianceCheck.MeasureBefore(context, generator, evalPrompts, config.EvalSamples, config.From);

        var pairsFile = new SampledPairsFile(Path.Combine(context.StageDir, SampledPairsFile.FileName));
        var objective = new OnPolicyDpoObjective(policy, tokenizer, prompts,
            new PoetryReward(rewardModel, tokenizer, prompts, config.Reward, [tokenizer.ImEndId, tokenizer.EndOfTextId]), config, seed, pairsFile);
        var result = new Trainer(context.TrainerOptions($"on-policy DPO loss ({config.LossType}, β = {config.Beta})"))
            .TrainIterations(policy, objective, config, config.Rounds);

        ModelCheckpoint.Save(context.StageDir, policy, upstream.TokenizerDir);
        MetricsPlot.Save(Path.Combine(context.StageDir, MetricsLog.FileName), Path.Combine(context.StageDir, "reward.png"),
            "On-policy DPO: reward of the sampled answers per round", "reward",
            (OnPolicyDpoObjective.Kind, "reward_mean", "total reward"), (OnPolicyDpoObjective.Kind, "form_compliance", "form compliance"));

        var metrics = result.ToMetrics();
        var pairs = pairsFile.Read();
        metrics["rounds"] = config.Rounds;
        metrics["sampled_pairs"] = pairs.Count;
        if (objective.Summaries.LastOrDefault() is { } last)
            foreach (var key in new[] { "reward_mean", "form_compliance", "rhyme_score_mean", "repeated_share_mean", "pairs", "dpo_loss" })
                if (last.TryGetValue(key, out var v)) metrics[$"last_round_{key}"] = v;
        context.Log($"{pairs.Count} sampled pairs in {pairsFile.Path}");
        policy.eval();
        StageComplianceCheck.MeasureAfter(context, before, generator, evalPrompts, config.EvalSamples, metrics, "samples.md",
            $"On-policy DPO samples ({context.Spec.Name})");
        return metrics;
    }
}
