using System.Diagnostics;
using TorchSharp;
using static TorchSharp.torch;

namespace MiniLlmPipeline.Training;

/// <summary>
/// Measures this machine's dense matmul throughput (GFLOP/s), the denominator of model FLOP
/// utilisation (MFU): training reports achieved FLOP/s over what the same machine's GEMM reaches
/// in the same run, never over a datasheet number.
/// </summary>
public static class MatmulPeak
{
    /// <summary>Best GFLOP/s of (m×k)·(k×n) products over a short timed loop after a warm-up.</summary>
    public static double Measure(int m = 2048, int k = 2048, int n = 2048, ScalarType dtype = ScalarType.Float32,
        Device? device = null, double seconds = 1.0)
    {
        using var scope = torch.NewDisposeScope();
        using var noGrad = torch.no_grad();
        var a = torch.randn(m, k, dtype: dtype, device: device);
        var b = torch.randn(k, n, dtype: dtype, device: device);
        for (var i = 0; i < 2; i++) a.matmul(b).Dispose();
        var best = 0.0;
        var total = Stopwatch.StartNew();
        while (total.Elapsed.TotalSeconds < seconds)
        {
            var clock = Stopwatch.StartNew();
            using var c = a.matmul(b);
            if (device?.type == DeviceType.CUDA) torch.cuda.synchronize();
            best = Math.Max(best, 2.0 * m * k * n / clock.Elapsed.TotalSeconds / 1e9);
        }
        return best;
    }
}
