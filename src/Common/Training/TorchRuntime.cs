using System.Runtime.InteropServices;
using TorchSharp;

namespace MiniLlmPipeline.Training;

/// <summary>
/// Process-wide libtorch thread settings (and glibc's heap settings, <see cref="NativeHeap.KeepLargeBlocks"/>), chosen
/// once (by <see cref="Pipeline.StageCli.LoadSpec"/>, before a stage or tool touches a tensor) from measurements with <c>make bench</c> (bench/README.md):
/// <list type="bullet">
/// <item>Intra-op threads = physical cores (a second hyper-thread on a core only contends for the same
/// FPU): on the idle 2-core machine two threads trained the default model 1.8× faster than one.
/// <c>MINILLM_THREADS</c> overrides it: on a machine other jobs keep busy, every op's OpenMP barrier
/// waits for a descheduled worker, and one thread trained 3× faster at load 12. The count is not derived
/// from the load average: that includes this pipeline's own previous stage, and a fixed count keeps
/// resumed runs numerically identical.</item>
/// <item>Decoding through the C# decoder (<see cref="Generation.CpuDecoder"/>) runs on <see cref="DecodingThreads"/>
/// (the physical cores, or <c>MINILLM_THREADS</c>): its workers spin between the small per-token products, so the
/// second core pays (bench/README.md, generate). Decoding through the torch model (<see cref="ForDecoding"/>) runs
/// libtorch on one thread: its per-token ops are matrix-vector sized, too small for its OpenMP barrier.</item>
/// <item>One inter-op thread: the model runs one op at a time.</item>
/// </list>
/// </summary>
public static class TorchRuntime
{
    private static bool configured;

    /// <summary>Threads of the C# decoder.</summary>
    public static int DecodingThreads { get; set; } = ChooseThreads();

    public static void Configure()
    {
        if (configured) return;
        configured = true;
        NativeHeap.KeepLargeBlocks();
        torch.set_num_threads(ChooseThreads());
        // libtorch allows setting the inter-op pool size only before its first parallel work.
        try { torch.set_num_interop_threads(1); }
        catch (ExternalException) { }
    }

    /// <summary><c>MINILLM_THREADS</c> when set, else the physical cores.</summary>
    public static int ChooseThreads() =>
        int.TryParse(Environment.GetEnvironmentVariable("MINILLM_THREADS"), out var fromEnv) && fromEnv > 0 ? fromEnv : PhysicalCores();

    /// <summary>One libtorch thread until disposed (token-by-token decoding through the torch model), then the previous count.</summary>
    public static IDisposable ForDecoding() => new ThreadCount(1);

    /// <summary>Distinct (package, core) pairs in /proc/cpuinfo; the logical CPU count where that is unavailable.</summary>
    public static int PhysicalCores()
    {
        const string cpuinfo = "/proc/cpuinfo";
        if (!File.Exists(cpuinfo)) return Environment.ProcessorCount;
        var cores = new HashSet<(string, string)>();
        var package = "0";
        foreach (var line in File.ReadLines(cpuinfo))
        {
            var parts = line.Split(':', 2, StringSplitOptions.TrimEntries);
            if (parts.Length != 2) continue;
            if (parts[0] == "physical id") package = parts[1];
            else if (parts[0] == "core id") cores.Add((package, parts[1]));
        }
        return cores.Count > 0 ? Math.Min(cores.Count, Environment.ProcessorCount) : Environment.ProcessorCount;
    }

    private sealed class ThreadCount : IDisposable
    {
        private readonly int previous = torch.get_num_threads();

        public ThreadCount(int threads) => torch.set_num_threads(threads);

        public void Dispose() => torch.set_num_threads(previous);
    }
}
