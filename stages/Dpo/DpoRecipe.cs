using System.Diagnostics;
using MiniLlmPipeline.Alignment;
using MiniLlmPipeline.Data;
using MiniLlmPipeline.Evaluation;
using MiniLlmPipeline.Generation;
using MiniLlmPipeline.Model;
using MiniLlmPipeline.Pipeline;
using MiniLlmPipeline.Training;

namespace MiniLlmPipeline.Stages.Dpo;

/// <summary>
/// Setup → reference log-probs → train → save for DPO: the <c>from:</c> checkpoint is both the policy's starting point
/// and the frozen reference; form compliance on held-out prompts is measured before and after.
/// </summary>
internal static class DpoRecipe
{
    public static IReadOnlyDictionary<string, double> Run(StageContext<DpoConfig> context)
    {
        var config = context.Config;
        if (config.Mode == DpoConfig.OnPolicy) return OnPolicyDpoRecipe.Run(context);
        var upstream = UpstreamModel.Load(context.UpstreamDir(config.From), context.Spec.Model, context.Device);
        using var policy = upstream.Model;
        context.AttachLora(policy);
        var tokenizer = upstream.Tokenizer;
        var maxSeqLen = policy.Config.MaxSeqLen;

        var data = config.Data!;
        var train = PreferenceCollator.Load(data, tokenizer, maxSeqLen);
        context.Log(train.Describe(data));
        var validation = config.ValData is null ? null : PreferenceCollator.Load(config.ValData, tokenizer, maxSeqLen);
        if (validation is not null) context.Log(validation.Describe(config.ValData!));
        var prompts = config.EvalPrompts is null || config.EvalSamples == 0 ? null
            : ParquetDatasets.ReadPrompts(config.EvalPrompts, FormComplianceEvaluator.FormColumn);
        var meanLength = train.MeanLength;
        context.Log($"{policy.ParameterCount / 1e6:F2}M parameters from '{config.From}', {train.Pairs.Count:N0} training pairs " +
                    $"(mean {meanLength:F0} tokens per response), {config.LossType} loss, beta {config.Beta}, device {context.Device.type}");

        var generator = new TextGenerator(policy, tokenizer, chat: true);
        var before = StageComplianceCheck.MeasureBefore(context, generator, prompts, config.EvalSamples, config.From);

        var sampler = new LengthBucketSampler(train.Pairs.Select(p => p.Length).ToList(), config.BatchSize, context.Spec.Seed);
        var objective = new DpoObjective(policy, train.Pairs, sampler, validation?.Pairs ?? [], config, tokenizer.PadId, context.Device);
        var totalSteps = config.ResolveSteps(train.Pairs.Count);
        var clock = Stopwatch.StartNew();
        policy.eval();
        // The reference is the starting policy: with LoRA its frozen base, the adapters switched off.
        int scored;
        using (LoraAdapters.Disable(policy)) scored = objective.PrecomputeReference((long)totalSteps * config.GradAccum);
        var referenceSeconds = clock.Elapsed.TotalSeconds;
        context.Log($"reference log-probs of {scored:N0} training and {objective.ValidationPairs} validation pairs in {referenceSeconds:F1}s");
        var result = new Trainer(context.TrainerOptions($"DPO loss ({config.LossType}, β = {config.Beta})", policy.FlopsPerToken((int)meanLength)))
            .Train(policy, objective, config, totalSteps);

        ModelCheckpoint.Save(context.StageDir, policy, upstream.TokenizerDir);

        var metrics = result.ToMetrics();
        policy.eval();
        train.AddTo(metrics);
        metrics["seconds_reference"] = referenceSeconds;
        if (metrics.TryGetValue("val_reward_accuracy", out var accuracy))
            context.Log($"validation: reward accuracy {accuracy:P1}, reward margin {metrics["val_reward_margin"]:F3} on {objective.ValidationPairs} pairs");
        StageComplianceCheck.MeasureAfter(context, before, generator, prompts, config.EvalSamples, metrics, "samples.md",
            $"DPO samples ({context.Spec.Name})");
        return metrics;
    }
}
