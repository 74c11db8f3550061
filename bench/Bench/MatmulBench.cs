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
        var seconds = options.Quick ? 0.3 : 1.5;
        var shapes = new List<MatmulShape> { new("2048³", 2048, 2048, 2048) };
        shapes.AddRange(MatmulShape.ForModel("default", BenchModels.Default, BenchModels.DefaultBatch * BenchModels.Default.MaxSeqLen));
        shapes.AddRange(MatmulShape.ForModel("large", BenchModels.Large, BenchModels.LargeBatch * BenchModels.Large.MaxSeqLen));
        foreach (var dtype in new[] { ScalarType.Float32, ScalarType.BFloat16 })
            foreach (var shape in shapes)
            {
                var gflops = MatmulPeak.Measure(shape.M, shape.K, shape.N, dtype, seconds: seconds);
                yield return new Measurement(Section, $"{Name(dtype)} {shape.Name}", gflops, "GFLOP/s", $"best of {seconds}s");
            }
        yield return new Measurement(Section, CpuPeakName, PerCpuSecond(options.Quick ? 2 : 8), "GFLOP/CPU-s",
            $"FLOPs over this process's CPU time: unaffected by other load; × {Environment.ProcessorCount} cores ≈ the unloaded peak");
    }

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
