using System.Diagnostics;
using LLama;
using LLama.Common;
using LLama.Native;
using MiniLlmPipeline.Generation;
using MiniLlmPipeline.IO;
using MiniLlmPipeline.Model;
using MiniLlmPipeline.Pipeline;
using MiniLlmPipeline.Stages.Export;
using MiniLlmPipeline.Tokenization;
using MiniLlmPipeline.Training;
using TorchSharp;

namespace MiniLlmPipeline.Bench;

/// <summary>
/// The default model's SFT checkpoint decoded greedily, batch 1, 256 new tokens, by our C# decoder and by
/// llama.cpp (LLamaSharp's CPU build) on the same weights exported as GGUF (f32 and q8_0, written to the temp folder),
/// both on one thread and on every physical core; the ratio is ours over llama.cpp's, each at its best thread count. The
/// context is extended past the trained max_seq_len so 256 tokens fit (RoPE needs no weights for that; speed is
/// what is measured here, not text).
/// </summary>
internal static class LlamaCppBench
{
    public const string Section = "llamacpp";

    public static IEnumerable<Measurement> Run(BenchOptions options)
    {
        var newTokens = options.Quick ? 32 : 256;
        var loaded = Load(options.RunDir);
        if (loaded is null)
        {
            yield return Measurement.Missing(Section, "llama.cpp decode", $"{options.RunDir} has no completed sft or tokenize stage (run make sft, or pass --run-dir)");
            yield break;
        }
        var (trained, tokenizer, source) = loaded.Value;
        var prompt = ChatTemplate.RenderPrompt(tokenizer, "以《春望》为题写一首五言律诗");
        using var model = new Gpt(trained.Config with { MaxSeqLen = prompt.Length + newTokens + 1 });
        using (torch.no_grad())
            foreach (var ((_, target), (_, from)) in model.named_parameters().Zip(trained.named_parameters())) target.copy_(from);
        trained.Dispose();
        model.eval();
        yield return new(Section, "model", model.ParameterCount / 1e6, "M parameters", source);

        var settings = new SamplingSettings { MaxNewTokens = newTokens, Greedy = true };
        var repeats = options.Repeats(3);
        int[] threadCounts = [.. new[] { 1, TorchRuntime.PhysicalCores() }.Distinct()];
        var oursBest = 0.0;
        foreach (var threads in threadCounts)
        {
            var ours = Timing.OnDecodingThreads(threads, () =>
                newTokens / Timing.BestSeconds(repeats, () => BatchedGenerator.Generate(model, [prompt], settings, [], tokenizer.PadId, null)));
            oursBest = Math.Max(oursBest, ours);
            yield return new(Section, $"ours, fp32, {threads} thread(s)", ours, "tok/s", $"C# decoder, batch 1, {newTokens} new tokens, best of {repeats}");
        }

        foreach (var quant in new[] { ExportQuant.F32, ExportQuant.Q8_0 })
        {
            var path = Path.Combine(Path.GetTempPath(), $"mlp-bench-{Environment.ProcessId}-{ExportOptions.Name(quant)}.gguf");
            try
            {
                var export = Stopwatch.StartNew();
                AtomicFile.Write(path, GgufExport.Build(model, tokenizer, "bench", quant).Write);
                yield return new(Section, $"export {ExportOptions.Name(quant)} GGUF", export.Elapsed.TotalSeconds, "s",
                    $"{new FileInfo(path).Length / 1024.0 / 1024.0:F1} MiB, GgufExport.Build + atomic write");
                var theirsBest = 0.0;
                foreach (var threads in threadCounts)
                {
                    // Loading the file and making a context are outside the timed part, as our model is built before its timing.
                    var theirs = newTokens / Enumerable.Range(0, repeats + 1)
                        .Select(_ => LlamaCppGreedySeconds(path, prompt, newTokens, model.Config.MaxSeqLen, threads)).Skip(1).Min();
                    theirsBest = Math.Max(theirsBest, theirs);
                    yield return new(Section, $"llama.cpp, {ExportOptions.Name(quant)}, {threads} thread(s)", theirs, "tok/s",
                        $"same weights as GGUF, batch 1, {newTokens} new tokens, best of {repeats}");
                }
                yield return new(Section, $"ours ÷ llama.cpp {ExportOptions.Name(quant)}", oursBest / theirsBest, "×",
                    "best thread count of each, tokens/s ratio");
            }
            finally { File.Delete(path); }
        }
    }

    /// <summary>
    /// The sft checkpoint, or — decoding speed does not depend on the weights' values — the default model's shape with
    /// random weights over the run's tokenizer when sft has not completed yet.
    /// </summary>
    private static (Gpt Model, TextTokenizer Tokenizer, string Source)? Load(string runDir)
    {
        var sft = Path.Combine(runDir, StageCatalog.Sft.Name);
        if (Manifest.TryRead(sft)?.Status == StageStatus.Complete)
        {
            var (model, tokenizer, _) = Exporter.Load(sft);
            return (model, tokenizer, $"weights of {sft}");
        }
        var tokenize = Path.Combine(runDir, StageCatalog.Tokenize.Name);
        if (Manifest.TryRead(tokenize)?.Status != StageStatus.Complete) return null;
        var bpe = TextTokenizer.Load(Path.Combine(tokenize, TokenizedCorpus.TokenizerDir));
        torch.manual_seed(1);
        var random = new Gpt(BenchModels.Default with { VocabSize = bpe.VocabSize, MatmulDtype = torch.ScalarType.Float32 });
        random.eval();
        return (random, bpe, $"random weights, default shape (no completed sft in {runDir}), tokenizer of {tokenize}");
    }

    /// <summary>Seconds of one greedy decode: the prompt in one batch, then one token per call, argmax of llama.cpp's logits.</summary>
    private static double LlamaCppGreedySeconds(string path, int[] prompt, int newTokens, int contextSize, int threads)
    {
        var parameters = new ModelParams(path)
        {
            ContextSize = (uint)contextSize, BatchSize = (uint)contextSize, GpuLayerCount = 0,
            Threads = threads, BatchThreads = threads,
        };
        using var weights = LLamaWeights.LoadFromFile(parameters);
        using var context = weights.CreateContext(parameters);
        var clock = Stopwatch.StartNew();
        var batch = new LLamaBatch();
        for (var i = 0; i < prompt.Length; i++) batch.Add(prompt[i], i, LLamaSeqId.Zero, i == prompt.Length - 1);
        for (var step = 0; step < newTokens; step++)
        {
            if (context.Decode(batch) != DecodeResult.Ok) throw new InvalidOperationException("llama.cpp decode failed");
            var logits = context.NativeHandle.GetLogitsIth(batch.TokenCount - 1);
            var next = 0;
            for (var v = 1; v < logits.Length; v++) if (logits[v] > logits[next]) next = v;
            batch.Clear();
            batch.Add(next, prompt.Length + step, LLamaSeqId.Zero, true);
        }
        return clock.Elapsed.TotalSeconds;
    }
}
