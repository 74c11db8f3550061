using System.Diagnostics;
using MiniLlmPipeline.Model;
using MiniLlmPipeline.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace MiniLlmPipeline.Bench;

/// <summary>
/// Full pretraining steps (batch → forward + loss → backward → clip → AdamW), timed per phase, as the
/// Trainer runs them. Tokens/s and the phase split come from the fastest step; MFU is model FLOPs
/// (<see cref="Gpt.FlopsPerToken"/>) × tokens/s over the measured fp32 2048³ GEMM throughput.
/// </summary>
internal static class PretrainBench
{
    public const string Section = "pretrain";

    public static IEnumerable<Measurement> Run(BenchOptions options, double fp32PeakGflops)
    {
        foreach (var (name, config, batch, steps) in new[]
        {
            ("default", BenchModels.Default, BenchModels.DefaultBatch, options.Quick ? 2 : 6),
            ("large", BenchModels.Large, BenchModels.LargeBatch, options.Quick ? 1 : 3),
        })
            foreach (var row in Measure(name, config, batch, steps, fp32PeakGflops))
                yield return row;
    }

    private static IEnumerable<Measurement> Measure(string name, GptConfig config, int batch, int steps, double peak)
    {
        torch.manual_seed(1);
        using var model = new Gpt(config);
        using var optimizer = ParameterGroups.CreateAdamW(model, 1e-3, 0.1, 0.9, 0.95);
        using var batches = new PretrainBatches(config.VocabSize, batch, config.MaxSeqLen);
        var parameters = model.parameters().ToList();
        model.train();

        var best = new double[5];
        for (var step = 0; step < steps + 1; step++) // step 0 warms up (allocator, kernels)
        {
            var phases = Step(model, optimizer, parameters, batches, step);
            if (step > 0 && (best[0] == 0 || phases.Sum() < best.Sum())) best = phases;
        }
        var stepSeconds = best.Sum();
        var tokens = (double)batch * config.MaxSeqLen;
        var tokensPerSecond = tokens / stepSeconds;
        var flopsPerToken = model.FlopsPerToken(config.MaxSeqLen);
        var label = $"{name} d{config.DModel} L{config.NLayers} T{config.MaxSeqLen} B{batch}";
        var split = $"data {Ms(best[0])} fwd {Ms(best[1])} bwd {Ms(best[2])} clip {Ms(best[3])} adamw {Ms(best[4])}";
        yield return new(Section, $"{label} tokens/s", tokensPerSecond, "tok/s", $"best of {steps} steps; {split}");
        yield return new(Section, $"{label} MFU", flopsPerToken * tokensPerSecond / (peak * 1e9) * 100, "%",
            $"{flopsPerToken / 1e6:F1} MFLOP/token, {flopsPerToken * tokensPerSecond / 1e9:F0} GFLOP/s over fp32 peak {peak:F0}");
        yield return new(Section, $"{label} data-loader share", best[0] / stepSeconds * 100, "%", $"{Ms(best[0])} of a {Ms(stepSeconds)} step");
    }

    /// <summary>Seconds spent in data, forward+loss, backward, clip, optimizer.</summary>
    private static double[] Step(Gpt model, optim.Optimizer optimizer, List<TorchSharp.Modules.Parameter> parameters, PretrainBatches batches, long index)
    {
        using var scope = torch.NewDisposeScope();
        var phases = new double[5];
        var clock = Stopwatch.StartNew();
        var (inputs, targets) = batches.Batch(index);
        phases[0] = Lap(clock);
        var logits = model.call(inputs);
        var loss = nn.functional.cross_entropy(logits.reshape(-1, logits.shape[^1]), targets.reshape(-1));
        _ = loss.item<float>();
        phases[1] = Lap(clock);
        loss.backward();
        phases[2] = Lap(clock);
        nn.utils.clip_grad_norm_(parameters, 1.0);
        phases[3] = Lap(clock);
        optimizer.step();
        optimizer.zero_grad();
        phases[4] = Lap(clock);
        return phases;
    }

    private static double Lap(Stopwatch clock)
    {
        var seconds = clock.Elapsed.TotalSeconds;
        clock.Restart();
        return seconds;
    }

    private static string Ms(double seconds) => $"{seconds * 1000:F0}ms";
}
