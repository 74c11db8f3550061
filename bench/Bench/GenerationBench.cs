using MiniLlmPipeline.Generation;
using MiniLlmPipeline.Model;
using MiniLlmPipeline.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace MiniLlmPipeline.Bench;

/// <summary>
/// Greedy decoding of 256 new tokens (no stop token, so every run decodes all of them) at batch 1 and batch 16
/// (prompts of 12–16 tokens): through the C# decoder (<see cref="CpuDecoder"/>) on one thread and on every physical
/// core, through the torch model with its KV cache (the path every decode took before the C# decoder; the ratio is
/// taken in this run), and by re-running the whole sequence per token. The C# decoder computes in fp32 whatever
/// the model's matmul dtype, so the section runs the fp32 model only.
/// </summary>
internal static class GenerationBench
{
    public const string Section = "generate";

    public static IEnumerable<Measurement> Run(BenchOptions options)
    {
        var newTokens = options.Quick ? 32 : 256;
        var settings = new SamplingSettings { MaxNewTokens = newTokens, Greedy = true };
        var cores = TorchRuntime.PhysicalCores();
        foreach (var batch in new[] { 1, 16 })
        {
            torch.manual_seed(1);
            using var model = new Gpt(BenchModels.Default with { MaxSeqLen = 16 + newTokens });
            model.eval();
            var label = $"batch {batch}";
            var prompts = Prompts(batch);
            var repeats = options.Repeats(3);
            double Rate(int threads, bool cpuDecoder) => Timing.OnDecodingThreads(threads, () =>
                batch * newTokens / Timing.BestSeconds(repeats, () => BatchedGenerator.Generate(model, prompts, settings, [], 0, null, useCpuDecoder: cpuDecoder)));
            var one = Rate(1, cpuDecoder: true);
            yield return new(Section, $"{label} C# decoder, 1 thread", one, "tok/s", $"{newTokens} new tokens, best of {repeats}");
            var all = Rate(cores, cpuDecoder: true);
            yield return new(Section, $"{label} C# decoder, {cores} threads", all, "tok/s", $"{newTokens} new tokens, best of {repeats}; {all / one:F2}× one thread");
            var torchPath = Rate(1, cpuDecoder: false);
            yield return new(Section, $"{label} torch model, KV cache, 1 thread", torchPath, "tok/s",
                $"{newTokens} new tokens, best of {repeats}; the C# decoder's best is {Math.Max(one, all) / torchPath:F1}× this");

            var (reforward, how) = batch == 1
                ? (batch * newTokens / Timing.BestSeconds(1, () => BatchedGenerator.Generate(model, prompts, settings, [], 0, null, useKvCache: false)), "measured")
                : (batch * newTokens / ReforwardSeconds(model, prompts, newTokens), "estimated: one re-forward step timed every 32 tokens, interpolated");
            yield return new(Section, $"{label} torch model, re-forward", reforward, "tok/s", $"{newTokens} new tokens, {how}");
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
