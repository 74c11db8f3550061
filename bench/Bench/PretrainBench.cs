using System.Diagnostics;
using MiniLlmPipeline.Alignment;
using MiniLlmPipeline.Model;
using MiniLlmPipeline.Pipeline;
using MiniLlmPipeline.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace MiniLlmPipeline.Bench;

/// <summary>
/// Full pretraining steps (batch → forward + loss → backward → clip → AdamW) of the shared <see cref="Trainer"/>,
/// timed per phase, for fp32 and bf16 matmuls in the same run, one variant after the other. Tokens/s and the phase
/// split come from each variant's fastest step; MFU is model FLOPs (<see cref="Gpt.FlopsPerToken"/>) × tokens/s over
/// the best fp32 GEMM throughput the run measured. Both variants start from the same weights and see the same
/// batches, so their losses after the last step show whether bf16 trains like fp32.
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
        foreach (var (name, config, batch, steps, rounds) in new[]
        {
            ("default", BenchModels.Default, BenchModels.DefaultBatch, options.Quick ? 2 : 10, options.Quick ? 1 : 3),
            ("large", BenchModels.Large, BenchModels.LargeBatch, options.Quick ? 1 : 2, options.Quick ? 1 : 2),
        })
            foreach (var row in Throughput(name, config, batch, steps, rounds, fp32PeakGflops, fp32CpuPeak, corpus))
                yield return row;
    }

    /// <summary>The <c>precision</c> section: does bf16 train like fp32?</summary>
    public static IEnumerable<Measurement> RunPrecision(BenchOptions options)
    {
        yield return LossAgreement(BenchModels.Default, 8, options.Quick ? 10 : 120, Path.Combine(options.DataDir, "pretrain.parquet"));
    }

    /// <summary>
    /// Each variant's fastest step over <paramref name="rounds"/> rounds of <paramref name="steps"/> steps, the variants
    /// taking turns: on this shared 2-core machine a slow spell lasting longer than one variant's steps (two passes of
    /// the same code differed by 10 % when each ran once) then costs a variant one round, not its figure.
    /// </summary>
    private static IEnumerable<Measurement> Throughput(string name, GptConfig config, int batch, int steps, int rounds, double peak, double cpuPeak, string corpus)
    {
        using var batches = new PretrainBatches(corpus, config.VocabSize, batch, config.MaxSeqLen);
        var threads = torch.get_num_threads();
        var best = new double[ThroughputVariants.Length][];
        var roundBests = ThroughputVariants.Select(_ => new List<double>()).ToArray(); // each round's fastest step, shown
        for (var round = 0; round < rounds; round++)
            for (var v = 0; v < ThroughputVariants.Length; v++)
            {
                var (dtype, allCores) = ThroughputVariants[v];
                torch.set_num_threads(allCores ? TorchRuntime.PhysicalCores() : threads);
                using var run = new TrainingRun(config with { MatmulDtype = dtype }, batches, evalBatches: []);
                run.Train(steps + 1); // step 0 warms up (allocator, kernels)
                torch.set_num_threads(threads);
                var fastest = run.StepPhases.Skip(1).MinBy(Wall)!;
                roundBests[v].Add(Wall(fastest));
                if (best[v] is null || Wall(fastest) < Wall(best[v])) best[v] = fastest;
            }

        var tokens = (double)batch * config.MaxSeqLen;
        using var counter = new Gpt(config);
        var flopsPerToken = counter.FlopsPerToken(config.MaxSeqLen);
        var rates = new double[best.Length];
        for (var v = 0; v < best.Length; v++)
        {
            var stepSeconds = Wall(best[v]);
            rates[v] = tokens / stepSeconds;
            var (dtype, allCores) = ThroughputVariants[v];
            var label = $"{name} d{config.DModel} L{config.NLayers} T{config.MaxSeqLen} B{batch} {MatmulBench.Name(dtype)} {(allCores ? TorchRuntime.PhysicalCores() : threads)}T";
            var split = $"data {Ms(best[v][0])} fwd {Ms(best[v][1])} bwd+clip+adamw {Ms(best[v][2])}";
            yield return new(Section, $"{label} tokens/s", rates[v], "tok/s", $"best of {rounds}×{steps} steps (rounds' best {string.Join(", ", roundBests[v].Select(Ms))}); {split}");
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
        var unseen = Enumerable.Range(0, 8).Select(k => 1_000_000L + k).ToList();
        var losses = Variants.Select(dtype =>
        {
            using var run = new TrainingRun(config with { MatmulDtype = dtype }, batches, unseen);
            return run.Train(steps).FinalEval[UnseenLoss];
        }).ToList();
        return new(PrecisionSection, $"bf16 − fp32 unseen-batch loss after {steps} steps", losses[1] - losses[0], "nats",
            $"fp32 {losses[0]:F4}, bf16 {losses[1]:F4}; default model, B{batch}, lr 1e-3, 8 unseen batches");
    }

    /// <summary>Data, forward + loss, and the rest of the step (backward, clip, AdamW); then the step's CPU seconds.</summary>
    private const int Phases = 3;

    private const string UnseenLoss = "unseen_loss";

    private static double Wall(double[] phases) => phases.Take(Phases).Sum();

    private static string Ms(double seconds) => $"{seconds * 1000:F0}ms";

    /// <summary>
    /// One model trained by the shared <see cref="Trainer"/> on the bench's batches with the pretrain stage's own loss
    /// (<see cref="NextTokenObjective.CrossEntropy"/>, the fused output layer and cross-entropy; before 91a0ce9 this timed
    /// the unfused full-logits loss the stage no longer uses), at a constant lr of 1e-3. The objective times the batch and
    /// the forward pass; the rest of a step (backward, clip, AdamW) runs until the trainer asks for the next batch, or for
    /// the final evaluation after the last step.
    /// </summary>
    private sealed class TrainingRun : ITrainingObjective, IDisposable
    {
        private static readonly Stages.Pretrain.PretrainConfig Optimisation = new()
        {
            Lr = 1e-3, WarmupSteps = 0, MinLrRatio = 1, WeightDecay = 0.1, Beta1 = 0.9, Beta2 = 0.95, GradClip = 1.0,
            LogEvery = int.MaxValue, EvalEvery = int.MaxValue, CheckpointEvery = int.MaxValue,
        };

        private readonly Gpt model;
        private readonly PretrainBatches batches;
        private readonly IReadOnlyList<long> evalBatches;
        private readonly string stageDir = Path.Combine(Path.GetTempPath(), $"bench-train-{Guid.NewGuid():N}");
        private readonly Stopwatch clock = new();
        private double[] phases = [];
        private double cpuAtStart;

        /// <summary>Per trained step: wall seconds of each of the <see cref="Phases"/>, then its CPU seconds.</summary>
        public List<double[]> StepPhases { get; } = [];

        /// <param name="evalBatches">Micro-batch indices never trained on, whose mean loss the final evaluation reports.</param>
        public TrainingRun(GptConfig config, PretrainBatches batches, IReadOnlyList<long> evalBatches)
        {
            torch.manual_seed(1); // the same initial weights for every variant
            model = new Gpt(config);
            this.batches = batches;
            this.evalBatches = evalBatches;
        }

        public TrainingResult Train(int steps) =>
            new Trainer(new TrainerOptions
            {
                StageDir = stageDir, StateDir = Path.Combine(stageDir, RunFolders.StateFolder), StageName = "bench", Seed = 1,
            }).Train(model, this, Optimisation, steps);

        public LossResult Loss(long microBatchIndex)
        {
            if (phases.Length > 0) EndStep();   // the previous step ended when the trainer came back for a batch
            phases = new double[Phases + 1];
            cpuAtStart = CpuClock.Seconds();
            clock.Restart();
            var (inputs, targets) = batches.Batch(microBatchIndex);
            phases[0] = Lap();
            var loss = NextTokenObjective.CrossEntropy(model, inputs, targets);
            phases[1] = Lap();
            return new LossResult(loss, LossResult.NoMetrics, inputs.numel());
        }

        private void EndStep()
        {
            phases[2] = Lap();
            phases[Phases] = CpuClock.Seconds() - cpuAtStart;
            StepPhases.Add(phases);
            phases = [];
        }

        /// <summary>Called once, after the last step (eval_every is out of reach): ends that step, then scores the unseen batches.</summary>
        public IReadOnlyDictionary<string, double> Evaluate()
        {
            if (phases.Length > 0) EndStep();
            if (evalBatches.Count == 0) return new Dictionary<string, double>();
            var loss = evalBatches.Average(index =>
            {
                var (inputs, targets) = batches.Batch(index);
                return NextTokenObjective.CrossEntropy(model, inputs, targets).item<float>();
            });
            return new Dictionary<string, double> { [UnseenLoss] = loss };
        }

        private double Lap()
        {
            var seconds = clock.Elapsed.TotalSeconds;
            clock.Restart();
            return seconds;
        }

        public void Dispose()
        {
            model.Dispose();
            if (Directory.Exists(stageDir)) Directory.Delete(stageDir, recursive: true);
        }
    }
}
