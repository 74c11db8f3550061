using MiniLlmPipeline.Evaluation;
using MiniLlmPipeline.Generation;
using MiniLlmPipeline.Model;
using MiniLlmPipeline.Pipeline;
using MiniLlmPipeline.Rlhf;
using MiniLlmPipeline.Tokenization;
using MiniLlmPipeline.Training;
using TorchSharp;

namespace MiniLlmPipeline.Stages.Ppo;

/// <summary>
/// Setup → train → save for PPO-RLHF: policy and frozen reference from <c>from:</c>, frozen reward model and the
/// trainable value model from <c>reward_model:</c>, the <see cref="PpoObjective"/> run by the shared trainer, then the
/// policy checkpoint, reward/KL plots and held-out form compliance before and after.
/// </summary>
internal static class PpoRecipe
{
    public static IReadOnlyDictionary<string, double> Run(StageContext<PpoConfig> context)
    {
        var config = context.Config;
        var seed = context.Spec.Seed;
        var policyDir = context.UpstreamDir(config.From);
        var rewardDir = context.UpstreamDir(config.RewardModel);
        ModelCheckpoint.ReadConfig(rewardDir, context.Spec.Model);
        var (prompts, evalPrompts) = StageComplianceCheck.RlPrompts(context, config.Prompts, config.EvalPrompts, config.EvalSamples);

        torch.manual_seed(seed);
        var device = context.Device;
        var upstream = UpstreamModel.Load(policyDir, context.Spec.Model, device);
        var tokenizer = upstream.Tokenizer;
        context.AttachLora(upstream.Model);
        // With LoRA the policy with its adapters off; else a copy loaded like the policy, so a from: hf: folder (untied
        // head, sharded weights) gives the same reference.
        using var reference = FrozenReference.For(upstream.Model, () => UpstreamModel.Load(policyDir, context.Spec.Model, device).Model);
        using var rewardModel = FrozenModel.Freeze(ModelCheckpoint.LoadScalarHead(rewardDir, device, headRequired: true));
        // The value model starts as the reward model (InstructGPT, Ouyang et al. 2022 §3.5): it already reads the quality
        // of a prompt + partial response, so its first value estimates are informative and the first advantages are not
        // noise from a random head. `value_init: policy` puts a fresh head on the policy's trunk instead.
        var dropout = context.Spec.Model.Dropout;
        var value = config.ValueInit == PpoConfig.ValueFromPolicy
            ? ModelCheckpoint.LoadScalarHead(policyDir, device, headRequired: false, dropout)
            : ModelCheckpoint.LoadScalarHead(rewardDir, device, headRequired: true, dropout);
        // With lora: the value trunk trains adapters too, its scalar head in full.
        context.AttachLora(value.Trunk);
        using var model = new PolicyAndValue(upstream.Model, value);
        context.Log($"policy '{config.From}' ({model.Policy.ParameterCount / 1e6:F2}M), reward and value model '{config.RewardModel}', " +
                    $"reward {config.Reward.Formula()}, {prompts.Count} prompts, {config.Iterations} iterations × {config.StepsPerIteration} steps, device {device.type}");

        var before = StageComplianceCheck.MeasureBefore(context, new TextGenerator(reference.Model, tokenizer, chat: true), evalPrompts,
            config.EvalSamples, config.From);

        var encoded = prompts.Select(p => ChatTemplate.RenderPrompt(tokenizer, p.Prompt)).ToList();
        var samples = new RolloutSamples(Path.Combine(context.StageDir, "samples.md"), "PPO rollout samples", tokenizer, prompts, context.Log);
        using var objective = new PpoObjective(model, reference.Model, encoded, new PoetryReward(rewardModel, tokenizer, prompts, config.Reward, [tokenizer.ImEndId, tokenizer.EndOfTextId]),
            config, seed, [tokenizer.ImEndId, tokenizer.EndOfTextId], tokenizer.PadId,
            Path.Combine(context.StageDir, KlCoefficientHistory.FileName), samples);
        var result = new Trainer(context.TrainerOptions("PPO loss (policy + value_coef × value)"))
            .TrainIterations(model, objective, config, config.Iterations);

        ModelCheckpoint.Save(context.StageDir, model.Policy, upstream.TokenizerDir);
        var metricsPath = Path.Combine(context.StageDir, MetricsLog.FileName);
        MetricsPlot.Save(metricsPath, Path.Combine(context.StageDir, "reward.png"), "PPO reward per iteration", "reward",
            (PipelinePlots.PpoKind, PipelinePlots.PpoRewardKey, "total score"), (PipelinePlots.PpoKind, "reward_model_mean", "reward model"),
            (PipelinePlots.PpoKind, "form_score_mean", "form score"));
        MetricsPlot.Save(metricsPath, Path.Combine(context.StageDir, "kl.png"), "KL(policy ‖ reference) per sequence", "KL (nats)",
            (PipelinePlots.PpoKind, PipelinePlots.PpoKlKey, "KL"));

        var metrics = result.ToMetrics();
        metrics["iterations"] = config.Iterations;
        if (objective.Summaries.LastOrDefault() is { } last)
            foreach (var key in new[] { "reward_mean", "reward_model_mean", "form_score_mean", "kl", "kl_coef", "iteration_seconds", "gen_tokens_per_s" })
                if (last.Metrics.TryGetValue(key, out var v)) metrics[key] = v;
        StageComplianceCheck.MeasureAfter(context, before, new TextGenerator(model.Policy, tokenizer, chat: true), evalPrompts,
            config.EvalSamples, metrics, "compliance.md", $"PPO form compliance ({context.Spec.Name})");
        return metrics;
    }
}
