using MiniLlmPipeline.Generation;
using MiniLlmPipeline.Model;
using MiniLlmPipeline.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace MiniLlmPipeline.Bench;

/// <summary>
/// Greedy decoding of 256 new tokens (no stop token, so every run decodes all of them) with the KV
/// cache and by re-running the whole sequence per token, at batch 1 and batch 16 (prompts of 12–16
/// tokens, left-padded as in evaluation), for fp32 and bf16 matmuls, and cached decoding with one
/// thread (the default, <see cref="TorchRuntime.DecodingThreads"/>) against all physical cores.
/// </summary>
internal static class GenerationBench
{
    public const string Section = "generate";

    public static IEnumerable<Measurement> Run(BenchOptions options)
    {
        var newTokens = options.Quick ? 32 : 256;
        var settings = new SamplingSettings { MaxNewTokens = newTokens, Greedy = true };
        foreach (var dtype in new[] { ScalarType.Float32, ScalarType.BFloat16 })
            foreach (var batch in new[] { 1, 16 })
            {
                torch.manual_seed(1);
                using var model = new Gpt(BenchModels.Default with { MaxSeqLen = 16 + newTokens, MatmulDtype = dtype });
                model.eval();
                var label = $"{MatmulBench.Name(dtype)} batch {batch}";
                var prompts = Prompts(batch);
                var seconds = Timing.BestSeconds(options.Repeats(3), () => BatchedGenerator.Generate(model, prompts, settings, [], 0, null));
                var cached = batch * newTokens / seconds;
                yield return new(Section, $"{label} KV cache", cached, "tok/s", $"{newTokens} new tokens, best of {options.Repeats(3)}{(dtype == ScalarType.Float32 ? "" : "; Generate decodes in fp32 (MixedPrecision.Suspend)")}");
                {
                    var decoding = TorchRuntime.DecodingThreads;
                    TorchRuntime.DecodingThreads = TorchRuntime.PhysicalCores();
                    // 32 tokens: on a busy machine this variant is slow enough that 256 would take minutes.
                    var shortRun = settings with { MaxNewTokens = 32 };
                    var allCores = Timing.BestSeconds(1, () => BatchedGenerator.Generate(model, prompts, shortRun, [], 0, null));
                    TorchRuntime.DecodingThreads = decoding;
                    yield return new(Section, $"{label} KV cache, {TorchRuntime.PhysicalCores()} threads", batch * 32 / allCores, "tok/s",
                        $"32 new tokens, against {decoding} decoding thread(s) above");
                }
                if (dtype != ScalarType.Float32) continue; // re-forwarding is the fp32 reference the cache is judged against

                var (reforward, how) = batch == 1
                    ? (batch * newTokens / Timing.BestSeconds(1, () => BatchedGenerator.Generate(model, prompts, settings, [], 0, null, useKvCache: false)), "measured")
                    : (batch * newTokens / ReforwardSeconds(model, prompts, newTokens), "estimated: one re-forward step timed every 32 tokens, interpolated");
                yield return new(Section, $"{label} re-forward", reforward, "tok/s", $"{newTokens} new tokens, {how}");
                yield return new(Section, $"{label} KV-cache speed-up", cached / reforward, "×", "KV cache tok/s ÷ re-forward tok/s");
            }
    }

    private static List<int[]> Prompts(int batch) =>
        Enumerable.Range(0, batch).Select(row => Enumerable.Range(0, 12 + row % 5).Select(i => 300 + (row * 31 + i * 7) % 3000).ToArray()).ToList();

    /// <summary>
    /// Time to decode <paramref name="newTokens"/> tokens without the cache, from single re-forward steps
    /// (Generate with one new token on prompts grown by t tokens) at t = 0, 32, …, interpolated linearly:
    /// decoding all of them at batch 16 would take minutes on a 2-core machine.
    /// </summary>
    private static double ReforwardSeconds(Gpt model, List<int[]> prompts, int newTokens)
    {
        var one = new SamplingSettings { MaxNewTokens = 1, Greedy = true };
        var samples = new List<(int T, double Seconds)>();
        for (var t = 0; t < newTokens; t += 32)
        {
            var grown = prompts.Select(p => p.Concat(Enumerable.Repeat(500, t)).ToArray()).ToList();
            samples.Add((t, Timing.BestSeconds(1, () => BatchedGenerator.Generate(model, grown, one, [], 0, null, useKvCache: false))));
        }
        samples.Add((newTokens - 1, samples[^1].Seconds + (samples[^1].Seconds - samples[0].Seconds) * (newTokens - 1 - samples[^1].T) / Math.Max(1, samples[^1].T)));
        var total = 0.0;
        for (var i = 1; i < samples.Count; i++)
            total += (samples[i].T - samples[i - 1].T) * (samples[i].Seconds + samples[i - 1].Seconds) / 2;
        return total + samples[^1].Seconds;
    }
}
