using System.Diagnostics;
using MiniLlmPipeline.Model;
using MiniLlmPipeline.Training;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace MiniLlmPipeline.Bench;

/// <summary>
/// Full pretraining steps (batch → forward + loss → backward → clip → AdamW), timed per phase, as the
/// Trainer runs them, for fp32 and bf16 matmuls side by side (steps alternate between the two, so
/// both see the same machine load). Tokens/s and the phase split come from each variant's fastest
/// step; MFU is model FLOPs (<see cref="Gpt.FlopsPerToken"/>) × tokens/s over the best fp32 GEMM
/// throughput the run measured. Both variants start from the same weights and see the same batches, so
/// their losses after the last step show whether bf16 trains like fp32.
/// </summary>
internal static class PretrainBench
{
    public const string Section = "pretrain";
    private static readonly ScalarType[] Variants = [ScalarType.Float32, ScalarType.BFloat16];

    /// <summary>Variants timed side by side: fp32 and bf16 at the configured thread count and on all physical cores.</summary>
    private static readonly (ScalarType Dtype, bool AllCores)[] ThroughputVariants =
        [(ScalarType.Float32, false), (ScalarType.BFloat16, false), (ScalarType.Float32, true), (ScalarType.BFloat16, true)];

    public static IEnumerable<Measurement> Run(BenchOptions options, double fp32PeakGflops, double fp32CpuPeak)
    {
        var corpus = Path.Combine(options.DataDir, "pretrain.parquet");
        foreach (var (name, config, batch, steps) in new[]
        {
            ("default", BenchModels.Default, BenchModels.DefaultBatch, options.Quick ? 2 : 6),
            ("large", BenchModels.Large, BenchModels.LargeBatch, options.Quick ? 1 : 2),
        })
            foreach (var row in Throughput(name, config, batch, steps, fp32PeakGflops, fp32CpuPeak, corpus))
                yield return row;
    }

    /// <summary>The <c>precision</c> section: does bf16 train like fp32?</summary>
    public static IEnumerable<Measurement> RunPrecision(BenchOptions options)
    {
        yield return LossAgreement(BenchModels.Default, 8, options.Quick ? 10 : 120, Path.Combine(options.DataDir, "pretrain.parquet"));
    }

    private static IEnumerable<Measurement> Throughput(string name, GptConfig config, int batch, int steps, double peak, double cpuPeak, string corpus)
    {
        using var batches = new PretrainBatches(corpus, config.VocabSize, batch, config.MaxSeqLen);
        var runs = ThroughputVariants.Select(v => new TrainingRun(config with { MatmulDtype = v.Dtype })).ToList();
        var threads = torch.get_num_threads();
        var best = runs.Select(_ => new double[Phases + 1]).ToList();
        for (var step = 0; step < steps + 1; step++) // step 0 warms up (allocator, kernels)
            for (var v = 0; v < runs.Count; v++)
            {
                torch.set_num_threads(ThroughputVariants[v].AllCores ? TorchRuntime.PhysicalCores() : threads);
                var phases = runs[v].Step(batches, step);
                torch.set_num_threads(threads);
                if (step > 0 && (best[v][1] == 0 || Wall(phases) < Wall(best[v]))) best[v] = phases;
            }
        foreach (var run in runs) run.Dispose();

        var tokens = (double)batch * config.MaxSeqLen;
        using var counter = new Gpt(config);
        var flopsPerToken = counter.FlopsPerToken(config.MaxSeqLen);
        var rates = new double[runs.Count];
        for (var v = 0; v < runs.Count; v++)
        {
            var stepSeconds = Wall(best[v]);
            rates[v] = tokens / stepSeconds;
            var (dtype, allCores) = ThroughputVariants[v];
            var label = $"{name} d{config.DModel} L{config.NLayers} T{config.MaxSeqLen} B{batch} {MatmulBench.Name(dtype)} {(allCores ? TorchRuntime.PhysicalCores() : threads)}T";
            var split = $"data {Ms(best[v][0])} fwd {Ms(best[v][1])} bwd {Ms(best[v][2])} clip {Ms(best[v][3])} adamw {Ms(best[v][4])}";
            yield return new(Section, $"{label} tokens/s", rates[v], "tok/s", $"best of {steps} steps; {split}");
            yield return new(Section, $"{label} MFU", flopsPerToken * rates[v] / (peak * 1e9) * 100, "%",
                $"{flopsPerToken / 1e6:F1} MFLOP/token → {flopsPerToken * rates[v] / 1e9:F0} GFLOP/s over the fp32 peak {peak:F0}");
            var cpuRate = tokens / best[v][Phases];
            yield return new(Section, $"{label} MFU per CPU-second", flopsPerToken * cpuRate / (cpuPeak * 1e9) * 100, "%",
                $"{tokens / best[v][Phases]:F0} tokens per CPU-second over {cpuPeak:F0} GFLOP/CPU-s: the load-independent MFU");
            yield return new(Section, $"{label} data-loader share", best[v][0] / stepSeconds * 100, "%", $"{Ms(best[v][0])} to build a batch, step {Ms(stepSeconds)}");
        }
        yield return new(Section, $"{name} bf16 speed-up", rates[1] / rates[0], "×", $"bf16 tok/s ÷ fp32 tok/s at {threads} thread(s), same run");
        yield return new(Section, $"{name} {threads} vs {TorchRuntime.PhysicalCores()} threads", rates[0] / rates[2], "×", "fp32 tok/s at the configured threads ÷ at all physical cores");
    }

    /// <summary>
    /// fp32 and bf16 from the same initial weights on the same batches for <paramref name="steps"/> steps:
    /// the gap between their losses on 8 batches neither trained on, each model evaluated in its own precision.
    /// </summary>
    public const string PrecisionSection = "precision";

    private static Measurement LossAgreement(GptConfig config, int batch, int steps, string corpus)
    {
        using var batches = new PretrainBatches(corpus, config.VocabSize, batch, config.MaxSeqLen);
        var runs = Variants.Select(dtype => new TrainingRun(config with { MatmulDtype = dtype })).ToList();
        for (var step = 0; step < steps; step++)
            foreach (var run in runs)
                run.StepLoss(batches, step);
        var losses = runs.Select(run => Enumerable.Range(0, 8).Average(k => run.EvalLoss(batches, 1_000_000 + k))).ToList();
        foreach (var run in runs) run.Dispose();
        return new(PrecisionSection, $"bf16 − fp32 unseen-batch loss after {steps} steps", losses[1] - losses[0], "nats",
            $"fp32 {losses[0]:F4}, bf16 {losses[1]:F4}; default model, B{batch}, lr 1e-3, 8 unseen batches");
    }

    private const int Phases = 5;

    private static double Wall(double[] phases) => phases.Take(Phases).Sum();

    private static string Ms(double seconds) => $"{seconds * 1000:F0}ms";

    /// <summary>One model + AdamW, stepped like the Trainer does.</summary>
    private sealed class TrainingRun : IDisposable
    {
        private readonly Gpt model;
        private readonly optim.Optimizer optimizer;
        private readonly List<Parameter> parameters;

        public TrainingRun(GptConfig config)
        {
            torch.manual_seed(1); // the same initial weights for every variant
            model = new Gpt(config);
            optimizer = ParameterGroups.CreateAdamW(model, 1e-3, 0.1, 0.9, 0.95);
            parameters = model.parameters().ToList();
            model.train();
        }

        /// <summary>Wall seconds spent in data, forward+loss, backward, clip, optimizer; then the step's CPU seconds.</summary>
        public double[] Step(PretrainBatches batches, long index)
        {
            var phases = new double[Phases + 1];
            var cpu = CpuClock.Seconds();
            Run(batches, index, phases);
            phases[Phases] = CpuClock.Seconds() - cpu;
            return phases;
        }

        public double StepLoss(PretrainBatches batches, long index) => Run(batches, index, new double[Phases]);

        public double EvalLoss(PretrainBatches batches, long index)
        {
            using var scope = torch.NewDisposeScope();
            using var noGrad = torch.no_grad();
            var (inputs, targets) = batches.Batch(index);
            var logits = model.call(inputs);
            return nn.functional.cross_entropy(logits.reshape(-1, logits.shape[^1]), targets.reshape(-1)).item<float>();
        }

        private double Run(PretrainBatches batches, long index, double[] phases)
        {
            using var scope = torch.NewDisposeScope();
            var clock = Stopwatch.StartNew();
            var (inputs, targets) = batches.Batch(index);
            phases[0] = Lap(clock);
            var logits = model.call(inputs);
            var loss = nn.functional.cross_entropy(logits.reshape(-1, logits.shape[^1]), targets.reshape(-1));
            var value = loss.item<float>();
            phases[1] = Lap(clock);
            loss.backward();
            phases[2] = Lap(clock);
            nn.utils.clip_grad_norm_(parameters, 1.0);
            phases[3] = Lap(clock);
            optimizer.step();
            optimizer.zero_grad();
            phases[4] = Lap(clock);
            return value;
        }

        private static double Lap(Stopwatch clock)
        {
            var seconds = clock.Elapsed.TotalSeconds;
            clock.Restart();
            return seconds;
        }

        public void Dispose()
        {
            optimizer.Dispose();
            model.Dispose();
        }
    }
}
