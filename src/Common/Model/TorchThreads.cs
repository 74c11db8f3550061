using System.Runtime.CompilerServices;
using System.Runtime.ExceptionServices;
using System.Runtime.InteropServices;

namespace MiniLlmPipeline.Model;

/// <summary>
/// Runs C# work on libtorch's own OpenMP threads (GOMP_parallel of the libgomp libtorch loaded), so a C# kernel between
/// two torch operations shares the cores the way torch's own kernels do. Threads of our own were slower than one
/// thread: after every torch operation libgomp's worker spins for a while waiting for the next one, and a second
/// spinning pool fought it for the same core (a default fp32 pretraining step 497 → 565 ms with fused norms on our own
/// workers instead of the calling thread alone). Where no libgomp is loaded (not Linux, or a torch built with another
/// OpenMP) the work runs on the calling thread.
/// </summary>
internal static unsafe class TorchThreads
{
    private static readonly delegate* unmanaged<delegate* unmanaged<void*, void>, void*, uint, uint, void> Parallel;
    private static readonly delegate* unmanaged<int> ThreadNumber;
    private static readonly delegate* unmanaged<int> TeamSize;

    static TorchThreads()
    {
        if (!OperatingSystem.IsLinux() || LoadedLibgomp() is not { } path || !NativeLibrary.TryLoad(path, out var library)) return;
        if (NativeLibrary.TryGetExport(library, "GOMP_parallel", out var parallel)
            && NativeLibrary.TryGetExport(library, "omp_get_thread_num", out var threadNumber)
            && NativeLibrary.TryGetExport(library, "omp_get_num_threads", out var teamSize))
        {
            Parallel = (delegate* unmanaged<delegate* unmanaged<void*, void>, void*, uint, uint, void>)parallel;
            ThreadNumber = (delegate* unmanaged<int>)threadNumber;
            TeamSize = (delegate* unmanaged<int>)teamSize;
        }
    }

    /// <summary>Runs <paramref name="work"/>(part, parts) for parts 0 .. <paramref name="parts"/> − 1, one OpenMP thread per part; returns when all are done.</summary>
    public static void Run(Action<int, int> work, int parts)
    {
        if (parts <= 1 || Parallel == null)
        {
            for (var part = 0; part < parts; part++) work(part, parts);
            return;
        }
        var job = new Job(work, parts);
        var handle = GCHandle.Alloc(job);
        try
        {
            Parallel(&Execute, (void*)GCHandle.ToIntPtr(handle), (uint)parts, 0);
        }
        finally
        {
            handle.Free();
        }
        if (job.Error is not null) ExceptionDispatchInfo.Throw(job.Error); // as if it had run on this thread
    }

    [UnmanagedCallersOnly]
    private static void Execute(void* state)
    {
        var job = (Job)GCHandle.FromIntPtr((IntPtr)state).Target!;
        try
        {
            // The team may be smaller than asked for; every part still runs.
            for (var part = ThreadNumber(); part < job.Parts; part += TeamSize()) job.Work(part, job.Parts);
        }
        catch (Exception e)
        {
            job.Error = e; // an exception must not cross into native code
        }
    }

    /// <summary>The libgomp libtorch brought into this process (its file name carries a hash), from /proc/self/maps.</summary>
    private static string? LoadedLibgomp()
    {
        LoadTorch();
        return File.ReadLines("/proc/self/maps")
            .Select(line => line.Split(' ', StringSplitOptions.RemoveEmptyEntries))
            .Where(fields => fields.Length >= 6 && Path.GetFileName(fields[5]).StartsWith("libgomp", StringComparison.Ordinal))
            .Select(fields => fields[5])
            .FirstOrDefault();
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void LoadTorch() => TorchSharp.torch.get_num_threads(); // loads libtorch (and its libgomp)

    private sealed class Job(Action<int, int> work, int parts)
    {
        public Action<int, int> Work { get; } = work;
        public int Parts { get; } = parts;
        public Exception? Error { get; set; }
    }
}
