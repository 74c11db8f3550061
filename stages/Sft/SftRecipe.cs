using MiniLlmPipeline.Alignment;
using MiniLlmPipeline.Data;
using MiniLlmPipeline.Evaluation;
using MiniLlmPipeline.Generation;
using MiniLlmPipeline.Model;
using MiniLlmPipeline.Pipeline;
using MiniLlmPipeline.Tokenization;
using MiniLlmPipeline.Training;

namespace MiniLlmPipeline.Stages.Sft;

/// <summary>
/// Setup → train → save for supervised fine-tuning: the <c>from:</c> checkpoint learns to answer chat-formatted
/// prompts; form compliance on held-out prompts is measured before and after.
/// </summary>
internal static class SftRecipe
{
    public static IReadOnlyDictionary<string, double> Run(StageContext<SftConfig> context)
    {
        var config = context.Config;
        var upstream = UpstreamModel.Load(context.UpstreamDir(config.From), context.Spec.Model, context.Device);
        using var model = upstream.Model;
        context.AttachLora(model);
        var tokenizer = upstream.Tokenizer;
        var maxLength = model.Config.MaxSeqLen;

        var data = ConversationBatches.Load(config.Data, config.ValData, tokenizer, maxLength, config.BatchSize, config.EvalBatches,
            context.Spec.Seed, context.Device, context.Log);
        var prompts = config.EvalPrompts is null || config.EvalSamples == 0 ? null
            : ParquetDatasets.ReadPrompts(config.EvalPrompts, FormComplianceEvaluator.FormColumn);
        var meanLength = data.MeanLength;
        context.Log($"{model.ParameterCount / 1e6:F2}M parameters from '{config.From}', {data.Sequences.Count:N0} training conversations " +
                    $"(mean {meanLength:F0} tokens), device {context.Device.type}");

        var generator = new TextGenerator(model, tokenizer, chat: true);
        var before = StageComplianceCheck.MeasureBefore(context, generator, prompts, config.EvalSamples, config.From);

        var result = new Trainer(context.TrainerOptions("SFT loss (assistant tokens)", model.FlopsPerToken((int)meanLength)))
            .Train(model, new NextTokenObjective(model, data), config, config.ResolveSteps(data.ItemsPerEpoch));

        ModelCheckpoint.Save(context.StageDir, model, upstream.TokenizerDir);

        var metrics = result.ToMetrics();
        metrics["train_examples"] = data.Sequences.Count;
        metrics["dropped_examples"] = data.Dropped;
        StageComplianceCheck.MeasureAfter(context, before, generator, prompts, config.EvalSamples, metrics, "samples.md",
            $"SFT samples ({context.Spec.Name})");
        return metrics;
    }
}
