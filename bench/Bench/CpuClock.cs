using System.Diagnostics;

namespace MiniLlmPipeline.Bench;

/// <summary>
/// CPU seconds used by this process. On a shared machine wall time stretches with other people's load,
/// while the CPU time a piece of work needs barely does, so throughput per CPU-second (for the model
/// and for the GEMM peak alike) gives a load-independent utilisation next to the wall-clock one.
/// </summary>
internal static class CpuClock
{
    public static double Seconds()
    {
        using var process = Process.GetCurrentProcess();
        return process.TotalProcessorTime.TotalSeconds;
    }
}
