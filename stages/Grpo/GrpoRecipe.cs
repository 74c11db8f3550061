using MiniLlmPipeline.Generation;
using MiniLlmPipeline.Model;
using MiniLlmPipeline.Pipeline;
using MiniLlmPipeline.Rlhf;
using MiniLlmPipeline.Tokenization;
using MiniLlmPipeline.Training;
using TorchSharp;

namespace MiniLlmPipeline.Stages.Grpo;

/// <summary>
/// Setup → train → save for GRPO: the policy and its frozen reference from <c>from:</c>, the optional frozen reward model
/// from <c>reward_model:</c>, the <see cref="GrpoObjective"/> run by the shared trainer, then the policy checkpoint, the
/// reward/KL plots and held-out form compliance before and after.
/// </summary>
internal static class GrpoRecipe
{
    public static IReadOnlyDictionary<string, double> Run(StageContext<GrpoConfig> context)
    {
        var config = context.Config;
        var seed = context.Spec.Seed;
        var policyDir = context.UpstreamDir(config.From);
        var (prompts, evalPrompts) = StageComplianceCheck.RlPrompts(context, config.Prompts, config.EvalPrompts, config.EvalSamples);

        torch.manual_seed(seed);
        var device = context.Device;
        var upstream = UpstreamModel.Load(policyDir, context.Spec.Model, device);
        var tokenizer = upstream.Tokenizer;
        using var policy = upstream.Model;
        context.AttachLora(policy);
        // With LoRA the policy with its adapters off; else a copy loaded like the policy, so a from: hf: folder (untied
        // head, sharded weights) gives the same reference.
        using var reference = FrozenReference.For(policy, () => UpstreamModel.Load(policyDir, context.Spec.Model, device).Model);
        using var rewardModel = config.RewardModel is { } rm
            ? FrozenModel.Freeze(ModelCheckpoint.LoadScalarHead(context.UpstreamDir(rm), device, headRequired: true)) : null;
        context.Log($"policy '{config.From}' ({policy.ParameterCount / 1e6:F2}M), {prompts.Count} prompts, {config.Iterations} iterations × " +
                    $"{config.PromptsPerIteration} prompts × {config.GroupSize} answers, {config.StepsPerIteration} steps each, " +
                    $"reward {config.Reward.Formula()}{(config.RewardModel is { } name ? $" (reward model '{name}')" : "")}, device {device.type}");

        var before = StageComplianceCheck.MeasureBefore(context, new TextGenerator(reference.Model, tokenizer, chat: true), evalPrompts,
            config.EvalSamples, config.From);

        var encoded = prompts.Select(p => ChatTemplate.RenderPrompt(tokenizer, p.Prompt)).ToList();
        int[] stopIds = [tokenizer.ImEndId, tokenizer.EndOfTextId];
        var samples = new RolloutSamples(Path.Combine(context.StageDir, "samples.md"), "GRPO samples (best and worst answer of a group)",
            tokenizer, prompts, context.Log);
        using var objective = new GrpoObjective(policy, reference.Model, encoded,
            new PoetryReward(rewardModel, tokenizer, prompts, config.Reward, stopIds), config, seed, stopIds, tokenizer.PadId, samples);
        var result = new Trainer(context.TrainerOptions($"GRPO loss ({config.LossType}, β = {config.Beta})"))
            .TrainIterations(policy, objective, config, config.Iterations);

        ModelCheckpoint.Save(context.StageDir, policy, upstream.TokenizerDir);
        var metricsPath = Path.Combine(context.StageDir, MetricsLog.FileName);
        MetricsPlot.Save(metricsPath, Path.Combine(context.StageDir, "reward.png"), "GRPO reward per iteration", "reward",
            (GrpoObjective.Kind, "reward_mean", "total reward"), (GrpoObjective.Kind, "form_compliance", "form compliance"),
            (GrpoObjective.Kind, "rhyme_score_mean", "rhyme score"));
        MetricsPlot.Save(metricsPath, Path.Combine(context.StageDir, "kl.png"), "KL(policy ‖ reference) per answer token (k3)", "KL (nats)",
            (GrpoObjective.Kind, "kl", "KL"));

        var metrics = result.ToMetrics();
        metrics["iterations"] = config.Iterations;
        if (objective.Summaries.LastOrDefault() is { } last)
            foreach (var key in new[] { "reward_mean", "form_compliance", "rhyme_score_mean", "missing_end_rate", "repeated_share_mean", "kl", "iteration_seconds", "gen_tokens_per_s" })
                if (last.TryGetValue(key, out var v)) metrics[key] = v;
        StageComplianceCheck.MeasureAfter(context, before, new TextGenerator(policy, tokenizer, chat: true), evalPrompts,
            config.EvalSamples, metrics, "compliance.md", $"GRPO form compliance ({context.Spec.Name})");
        return metrics;
    }
}
