using MiniLlmPipeline.Data;
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
        var evalPrompts = config.EvalPrompts is null ? null
            : ParquetDatasets.ReadPrompts(config.EvalPrompts, FormComplianceEvaluator.FormColumn);
        var prompts = TrainingPrompts(context, evalPrompts);

        torch.manual_seed(seed);
        var device = context.Device;
        var upstream = UpstreamModel.Load(policyDir, context.Spec.Model, device);
        var tokenizer = upstream.Tokenizer;
        using var reference = Frozen(ModelCheckpoint.LoadGpt(policyDir, device));
        using var rewardModel = Frozen(ModelCheckpoint.LoadScalarHead(rewardDir, device, headRequired: true));
        // The value model starts as the reward model (InstructGPT, Ouyang et al. 2022 §3.5): it already reads the quality
        // of a prompt + partial response, so its first value estimates are informative and the first advantages are not
        // noise from a random head. `value_init: policy` puts a fresh head on the policy's trunk instead.
        var value = config.ValueInit == PpoConfig.ValueFromPolicy
            ? ModelCheckpoint.LoadScalarHead(policyDir, device, headRequired: false)
            : ModelCheckpoint.LoadScalarHead(rewardDir, device, headRequired: true);
        using var model = new PolicyAndValue(upstream.Model, value);
        context.Log($"policy '{config.From}' ({model.Policy.ParameterCount / 1e6:F2}M), reward and value model '{config.RewardModel}', " +
                    $"{prompts.Count} prompts, {config.Iterations} iterations × {config.StepsPerIteration} steps, device {device.type}");

        var before = StageComplianceCheck.MeasureBefore(context, new TextGenerator(reference, tokenizer, chat: true), evalPrompts,
            config.EvalSamples, config.From);

        var encoded = prompts.Select(p => ChatTemplate.RenderPrompt(tokenizer, p.Prompt)).ToList();
        using var objective = new PpoObjective(model, reference, encoded, new PoetryReward(rewardModel, tokenizer, prompts, config.Reward),
            config, seed, [tokenizer.ImEndId, tokenizer.EndOfTextId], tokenizer.PadId,
            Path.Combine(context.StageDir, KlCoefficientHistory.FileName));
        var samples = new PpoSamples(Path.Combine(context.StageDir, "samples.md"), tokenizer, prompts, context.Log);
        PpoIterationSummary? last = null;
        var options = context.TrainerOptions("PPO loss (policy + value_coef × value)") with
        {
            AfterStep = (step, log) =>
            {
                if (objective.CompletedIteration(step) is not { } summary) return;
                last = summary;
                log.Write(step, PipelinePlots.PpoKind, summary.Metrics);
                context.Log(Describe(summary, config.Iterations));
                if (summary.Iteration % config.SampleEvery == 0 || summary.Iteration == config.Iterations - 1) samples.Write(summary);
            },
        };
        // Checkpoints only at iteration boundaries: resuming there regenerates the next rollout exactly.
        var checkpointEvery = (config.CheckpointEvery + config.StepsPerIteration - 1) / config.StepsPerIteration * config.StepsPerIteration;
        var result = new Trainer(config with { CheckpointEvery = checkpointEvery }, options).Train(model, objective, config.TotalSteps);

        ModelCheckpoint.Save(context.StageDir, model.Policy, upstream.TokenizerDir);
        var metricsPath = Path.Combine(context.StageDir, MetricsLog.FileName);
        MetricsPlot.Save(metricsPath, Path.Combine(context.StageDir, "reward.png"), "PPO reward per iteration", "reward",
            (PipelinePlots.PpoKind, PipelinePlots.PpoRewardKey, "total score"), (PipelinePlots.PpoKind, "reward_model_mean", "reward model"),
            (PipelinePlots.PpoKind, "form_score_mean", "form score"));
        MetricsPlot.Save(metricsPath, Path.Combine(context.StageDir, "kl.png"), "KL(policy ‖ reference) per sequence", "KL (nats)",
            (PipelinePlots.PpoKind, PipelinePlots.PpoKlKey, "KL"));

        var metrics = result.ToMetrics();
        metrics["iterations"] = config.Iterations;
        if (last is not null)
            foreach (var key in new[] { "reward_mean", "reward_model_mean", "form_score_mean", "kl", "kl_coef", "iteration_seconds", "gen_tokens_per_s" })
                if (last.Metrics.TryGetValue(key, out var v)) metrics[key] = v;
        StageComplianceCheck.MeasureAfter(context, before, new TextGenerator(model.Policy, tokenizer, chat: true), evalPrompts,
            config.EvalSamples, metrics, "compliance.md", $"PPO form compliance ({context.Spec.Name})");
        return metrics;
    }

    /// <summary>
    /// The rollout prompts, less the ones form compliance is measured on (the evaluator's first eval_samples prompts with
    /// a form), so "after" stays a held-out figure even when prompts and eval_prompts are the same file.
    /// </summary>
    private static IReadOnlyList<PromptExample> TrainingPrompts(StageContext<PpoConfig> context, IReadOnlyList<PromptExample>? evalPrompts)
    {
        var all = ParquetDatasets.ReadPrompts(context.Config.Prompts);
        var heldOut = FormComplianceEvaluator.FormPrompts(evalPrompts ?? [], context.Config.EvalSamples).Select(p => p.Prompt).ToHashSet();
        var kept = all.Where(p => !heldOut.Contains(p.Prompt)).ToList();
        if (kept.Count == 0)
            throw new DatasetException($"{context.Config.Prompts}: all {all.Count} prompts are among the {heldOut.Count} held out for " +
                                       "form compliance (eval_prompts); add prompts or lower eval_samples");
        if (kept.Count < all.Count) context.Log($"{all.Count - kept.Count} of {all.Count} prompts held out for form compliance");
        return kept;
    }

    /// <summary>A model that is only read: no gradients, inference mode.</summary>
    private static T Frozen<T>(T model) where T : torch.nn.Module
    {
        foreach (var parameter in model.parameters()) parameter.requires_grad = false;
        model.eval();
        return model;
    }

    private static string Describe(PpoIterationSummary s, int iterations)
    {
        double M(string key) => s.Metrics.GetValueOrDefault(key, double.NaN);
        return $"iteration {s.Iteration + 1}/{iterations}: reward {M("reward_mean"):F3} (model {M("reward_model_mean"):F3}, form {M("form_score_mean"):F3}), " +
               $"kl {M("kl"):F3} (β {M("kl_coef"):G3}), policy {M("policy_loss"):F4}, value {M("value_loss"):F4}, clip {M("clip_fraction"):F3}, " +
               $"len {M("response_length"):F1}, gen {M("gen_tokens_per_s"):F0} tok/s, train {M("train_tokens_per_s"):F0} tok/s, {M("iteration_seconds"):F1} s";
    }
}
