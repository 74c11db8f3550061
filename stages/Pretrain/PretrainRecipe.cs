using MiniLlmPipeline.Alignment;
using MiniLlmPipeline.Generation;
using MiniLlmPipeline.IO;
using MiniLlmPipeline.Model;
using MiniLlmPipeline.Pipeline;
using MiniLlmPipeline.Tokenization;
using MiniLlmPipeline.Training;
using TorchSharp;

namespace MiniLlmPipeline.Stages.Pretrain;

/// <summary>Setup → train → save for pretraining (a torchtune-style recipe over the shared model and trainer).</summary>
internal static class PretrainRecipe
{
    /// <summary>Title prompts for the samples written next to the checkpoint (pretraining text is 《title》 + newline + poem).</summary>
    private static readonly string[] SampleTitles = ["春望", "静夜思", "山居秋暝", "送友人", "登高"];

    public static IReadOnlyDictionary<string, double> Run(StageContext<PretrainConfig> context)
    {
        var config = context.Config;
        var tokenizeDir = context.UpstreamDir(config.From);
        var tokenizerDir = Path.Combine(tokenizeDir, TokenizedCorpus.TokenizerDir);
        var tokenizer = TextTokenizer.Load(tokenizerDir);
        var gptConfig = GptConfig.From(context.Spec.Model, tokenizer.VocabSize);
        var seqLen = gptConfig.MaxSeqLen;
        using var data = TextWindowBatches.Open(tokenizeDir, tokenizer, config.Data, config.ValData, config.BatchSize, seqLen,
            context.Spec.Seed, config.EvalBatches, context.Device);

        torch.manual_seed(context.Spec.Seed);
        using var model = new Gpt(gptConfig);
        model.to(context.Device);
        context.Log($"{model.ParameterCount / 1e6:F2}M parameters, {data.TrainTokens:N0} training tokens, device {context.Device.type}");

        var peakGflops = MatmulPeak.Measure(device: context.Device);
        var flopsPerToken = model.FlopsPerToken(seqLen);
        var result = new Trainer(context.TrainerOptions("pretraining loss", flopsPerToken))
            .Train(model, new NextTokenObjective(model, data), config, config.ResolveSteps(data.ItemsPerEpoch));

        ModelCheckpoint.Save(context.StageDir, model, tokenizerDir);
        WriteSamples(context, model, tokenizer);

        var metrics = result.ToMetrics();
        metrics["parameters"] = model.ParameterCount;
        metrics["matmul_peak_gflops"] = peakGflops;
        metrics["mfu"] = flopsPerToken * result.TokensPerSecond / (peakGflops * 1e9);
        return metrics;
    }

    private static void WriteSamples(StageContext<PretrainConfig> context, Gpt model, TextTokenizer tokenizer)
    {
        var prompts = SampleTitles.Select(t => tokenizer.Encode($"《{t}》\n").ToArray()).ToList();
        var settings = new SamplingSettings { MaxNewTokens = Math.Min(64, model.Config.MaxSeqLen - 16), Temperature = 0.8, TopP = 0.95 };
        var rng = new torch.Generator((ulong)context.Spec.Seed);
        var completions = BatchedGenerator.Generate(model, prompts, settings, [tokenizer.EndOfTextId], tokenizer.PadId, rng);
        var samples = SampleTitles.Zip(completions, (title, ids) => $"《{title}》\n{tokenizer.Decode(ids, skipSpecialTokens: true).Trim()}");
        AtomicFile.WriteAllText(Path.Combine(context.StageDir, "samples.txt"), string.Join("\n\n", samples) + "\n");
        context.Log("samples:\n" + string.Join("\n\n", samples));
    }
}
