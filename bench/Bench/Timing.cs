using MiniLlmPipeline.Training;
using System.Diagnostics;

namespace MiniLlmPipeline.Bench;

/// <summary>
/// Best-of-N wall-clock timing. The machine is shared, so the minimum over repeats is the least
/// disturbed run and the fairest estimate of what the code itself costs.
/// </summary>
internal static class Timing
{
    /// <summary>Runs <paramref name="measure"/> with the C# decoder on <paramref name="threads"/> threads, then restores the count.</summary>
    public static T OnDecodingThreads<T>(int threads, Func<T> measure)
    {
        var decoding = TorchRuntime.DecodingThreads;
        TorchRuntime.DecodingThreads = threads;
        try { return measure(); }
        finally { TorchRuntime.DecodingThreads = decoding; }
    }

    public static double BestSeconds(int repeats, Action body, int warmup = 1)
    {
        for (var i = 0; i < warmup; i++) body();
        var best = double.MaxValue;
        for (var i = 0; i < repeats; i++)
        {
            var clock = Stopwatch.StartNew();
            body();
            best = Math.Min(best, clock.Elapsed.TotalSeconds);
        }
        return best;
    }
}
