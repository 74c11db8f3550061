using MiniLlmPipeline.Generation;
using MiniLlmPipeline.Model;
using TorchSharp;
using Generator = MiniLlmPipeline.Generation.Generator;

namespace MiniLlmPipeline.Bench;

/// <summary>
/// Greedy decoding of 256 new tokens (no stop token, so every run decodes all of them) with the KV
/// cache and by re-running the whole sequence per token, at batch 1 and batch 16 (prompts of 12–16
/// tokens, left-padded as in evaluation).
/// </summary>
internal static class GenerationBench
{
    public const string Section = "generate";

    public static IEnumerable<Measurement> Run(BenchOptions options)
    {
        var newTokens = options.Quick ? 32 : 256;
        torch.manual_seed(1);
        using var model = new Gpt(BenchModels.Default with { MaxSeqLen = 16 + newTokens });
        model.eval();
        var settings = new SamplingSettings { MaxNewTokens = newTokens, Greedy = true };
        foreach (var batch in new[] { 1, 16 })
        {
            var prompts = Enumerable.Range(0, batch).Select(row => Enumerable.Range(0, 12 + row % 5).Select(i => 300 + (row * 31 + i * 7) % 3000).ToArray()).ToList();
            var rates = new Dictionary<bool, double>();
            foreach (var cached in new[] { true, false })
            {
                // Re-forwarding at batch 16 takes a minute: once, without a warm-up.
                var (repeats, warmup) = cached ? (options.Repeats(3), 1) : (1, batch == 1 ? 1 : 0);
                var seconds = Timing.BestSeconds(repeats, () => Generator.Generate(model, prompts, settings, [], 0, null, cached), warmup);
                rates[cached] = batch * newTokens / seconds;
                yield return new(Section, $"batch {batch} {(cached ? "KV cache" : "re-forward")}", rates[cached], "tok/s",
                    $"{newTokens} new tokens, best of {repeats}");
            }
            yield return new(Section, $"batch {batch} KV-cache speed-up", rates[true] / rates[false], "×", "KV cache tok/s ÷ re-forward tok/s");
        }
    }
}
