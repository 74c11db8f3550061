using MiniLlmPipeline.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace MiniLlmPipeline.Bench;

/// <summary>
/// The denominator of MFU: fp32 and bf16 GEMM throughput at 2048³ and at the products the default
/// and the larger model actually compute (B·T tokens × d × out).
/// </summary>
internal static class MatmulBench
{
    public const string Section = "matmul";

    public static IEnumerable<Measurement> Run(BenchOptions options)
    {
        var seconds = Seconds(options);
        foreach (var dtype in new[] { ScalarType.Float32, ScalarType.BFloat16 })
            foreach (var shape in Shapes())
            {
                var gflops = MatmulPeak.Measure(shape.M, shape.K, shape.N, dtype, seconds: seconds);
                yield return new Measurement(Section, $"{Name(dtype)} {shape.Name}", gflops, "GFLOP/s", $"best of {seconds}s");
            }
        yield return new Measurement(Section, CpuPeakName, PerCpuSecond(options.Quick ? 2 : 8), "GFLOP/CPU-s",
            $"FLOPs over this process's CPU time: unaffected by other load; × {Environment.ProcessorCount} cores ≈ the unloaded peak");
    }

    /// <summary>
    /// The MFU denominator when this section did not run (<c>--only pretrain</c>): the best fp32 GEMM over the same shapes,
    /// so that both ways of running the bench divide by the same peak. (Until 2026-12-07 it was 2048³ alone, which this
    /// machine runs ~10 % slower than the default model's own forward products.)
    /// </summary>
    public static double Fp32Peak(BenchOptions options) =>
        Shapes().Max(shape => MatmulPeak.Measure(shape.M, shape.K, shape.N, ScalarType.Float32, seconds: Seconds(options)));

    /// <summary>2048³ and the products one training step of the default and of the large model computes.</summary>
    private static List<MatmulShape> Shapes()
    {
        var shapes = new List<MatmulShape> { new("2048³", 2048, 2048, 2048) };
        shapes.AddRange(MatmulShape.ForModel("default", BenchModels.Default, BenchModels.DefaultBatch * BenchModels.Default.MaxSeqLen));
        shapes.AddRange(MatmulShape.ForModel("large", BenchModels.Large, BenchModels.LargeBatch * BenchModels.Large.MaxSeqLen));
        return shapes;
    }

    private static double Seconds(BenchOptions options) => options.Quick ? 0.3 : 1.5;

    public const string CpuPeakName = "fp32 2048³ per CPU-second";

    /// <summary>fp32 2048³ GFLOP per CPU-second of this process.</summary>
    public static double PerCpuSecond(int repeats)
    {
        using var scope = torch.NewDisposeScope();
        using var noGrad = torch.no_grad();
        var a = torch.randn(2048, 2048);
        var b = torch.randn(2048, 2048);
        a.matmul(b).Dispose();
        var before = CpuClock.Seconds();
        for (var i = 0; i < repeats; i++) a.matmul(b).Dispose();
        return repeats * 2.0 * 2048 * 2048 * 2048 / (CpuClock.Seconds() - before) / 1e9;
    }

    public static string Name(ScalarType dtype) => dtype == ScalarType.BFloat16 ? "bf16" : "fp32";
}
