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

        var (train, dropped) = Encode(context, config.Data, tokenizer, maxLength);
        var validation = config.ValData is null ? null : Encode(context, config.ValData, tokenizer, maxLength).Sequences;
        var prompts = config.EvalPrompts is null || config.EvalSamples == 0 ? null
            : ParquetDatasets.ReadPrompts(config.EvalPrompts, FormComplianceEvaluator.FormColumn);
        var meanLength = train.Average(s => Math.Min(s.Ids.Length - 1, maxLength));
        context.Log($"{model.ParameterCount / 1e6:F2}M parameters from '{config.From}', {train.Count:N0} training conversations " +
                    $"(mean {meanLength:F0} tokens), device {context.Device.type}");

        var generator = new TextGenerator(model, tokenizer, chat: true);
        var before = StageComplianceCheck.MeasureBefore(context, generator, prompts, config.EvalSamples, config.From);

        var sampler = new LengthBucketSampler(train.Select(s => s.Ids.Length).ToList(), config.BatchSize, context.Spec.Seed);
        var objective = new SftObjective(model, train, sampler, validation, config.EvalBatches, tokenizer.PadId, maxLength,
            context.Spec.Seed, context.Device);
        var result = new Trainer(context.TrainerOptions("SFT loss (assistant tokens)", model.FlopsPerToken((int)meanLength)))
            .Train(model, objective, config, config.ResolveSteps(train.Count));

        ModelCheckpoint.Save(context.StageDir, model, upstream.TokenizerDir);

        var metrics = result.ToMetrics();
        metrics["train_examples"] = train.Count;
        metrics["dropped_examples"] = dropped;
        StageComplianceCheck.MeasureAfter(context, before, generator, prompts, config.EvalSamples, metrics, "samples.md",
            $"SFT samples ({context.Spec.Name})");
        return metrics;
    }

    /// <summary>An SFT Parquet as training sequences; examples whose prompt fills the context are dropped and counted.</summary>
    private static (IReadOnlyList<TokenizedSequence> Sequences, int Dropped) Encode(
        StageContext<SftConfig> context, string path, TextTokenizer tokenizer, int maxLength)
    {
        var examples = ParquetDatasets.ReadSft(path);
        var (kept, dropped) = ChatSequences.Encode(tokenizer, examples.Select(e => e.Messages), maxLength);
        if (kept.Count == 0)
            throw new DatasetException($"{path}: none of its {examples.Count} examples has an assistant token within max_seq_len {maxLength} " +
                                       "(every prompt fills the context); shorten the prompts or raise model.max_seq_len");
        if (dropped > 0)
            context.Log($"{path}: dropped {dropped} of {examples.Count} examples whose prompt leaves no assistant token within max_seq_len {maxLength}");
        return (kept, dropped);
    }
}
