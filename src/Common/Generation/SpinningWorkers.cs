using System.Diagnostics;

namespace MiniLlmPipeline.Generation;

/// <summary>Work split into <c>parts</c> pieces; <see cref="Execute"/> runs piece <c>part</c>.</summary>
internal interface IParallelWork
{
    void Execute(int part, int parts);
}

/// <summary>
/// Threads that stay awake between the many small parallel sections of a decoding step. A matrix–vector product
/// of the default model takes 10–60 µs, about what waking a sleeping thread-pool thread costs, so
/// <c>Parallel.For</c> made two threads slower than one; these workers spin (as llama.cpp's and OpenMP's do) and go
/// to sleep only after <see cref="SpinTime"/> without work, so an idle decoder costs nothing. Parts are claimed one
/// at a time by whoever is free, the caller included, so a worker the OS has descheduled (a busy machine) delays
/// nothing: the caller takes its parts. One caller at a time: a second concurrent caller runs its work alone.
/// </summary>
internal sealed class SpinningWorkers
{
    private static readonly TimeSpan SpinTime = TimeSpan.FromMilliseconds(1);
    private static readonly Lock SharedLock = new();
    private static SpinningWorkers? shared;

    private readonly Lock _callerLock = new();
    private readonly SemaphoreSlim[] _wake;
    private readonly int[] _sleeping;
    private IParallelWork? _work;
    private int _parts;
    // (run << 32) | next unclaimed part: a claim is a compare-and-swap that fails once the run has moved on.
    private long _state;
    private int _remaining;

    private SpinningWorkers(int workers)
    {
        _wake = new SemaphoreSlim[workers];
        _sleeping = new int[workers];
        for (var i = 0; i < workers; i++)
        {
            _wake[i] = new SemaphoreSlim(0);
            var index = i;
            new Thread(() => Loop(index)) { IsBackground = true, Name = $"decode-worker-{i + 1}" }.Start();
        }
    }

    /// <summary>Threads besides the caller's.</summary>
    public int Workers => _wake.Length;

    /// <summary>The process's workers: enough for <paramref name="threads"/> threads counting the caller's, grown on demand.</summary>
    public static SpinningWorkers Shared(int threads)
    {
        lock (SharedLock)
        {
            if (shared is null || shared.Workers < threads - 1) shared = new SpinningWorkers(Math.Max(0, threads - 1));
            return shared;
        }
    }

    /// <summary>Runs parts 0 .. <paramref name="parts"/> − 1 of <paramref name="work"/> on the caller and the workers; returns when all are done.</summary>
    public void Run(IParallelWork work, int parts)
    {
        if (parts <= 1 || Workers == 0 || !_callerLock.TryEnter())
        {
            for (var part = 0; part < parts; part++) work.Execute(part, parts);
            return;
        }
        try
        {
            _work = work;
            _parts = parts;
            Volatile.Write(ref _remaining, parts);
            var run = (Volatile.Read(ref _state) >> 32) + 1;
            Volatile.Write(ref _state, run << 32);
            for (var i = 0; i < Workers; i++)
                if (Interlocked.Exchange(ref _sleeping[i], 0) == 1) _wake[i].Release();
            Claim(run);
            var spin = new SpinWait();
            while (Volatile.Read(ref _remaining) > 0) spin.SpinOnce(sleep1Threshold: -1);
        }
        finally
        {
            _work = null;
            _callerLock.Exit();
        }
    }

    /// <summary>Executes unclaimed parts of <paramref name="run"/> until none is left.</summary>
    private void Claim(long run)
    {
        while (true)
        {
            var state = Volatile.Read(ref _state);
            var part = (int)(state & uint.MaxValue);
            if (state >> 32 != run || part >= Volatile.Read(ref _parts)) return;
            if (Interlocked.CompareExchange(ref _state, state + 1, state) != state) continue;
            // The claim succeeded, so the run cannot end before this part does: _work and _parts are still its own.
            _work!.Execute(part, _parts);
            Interlocked.Decrement(ref _remaining);
        }
    }

    private void Loop(int index)
    {
        var seen = Volatile.Read(ref _state) >> 32;
        var idle = Stopwatch.StartNew();
        while (true)
        {
            var run = Volatile.Read(ref _state) >> 32;
            if (run != seen)
            {
                seen = run;
                Claim(run);
                idle.Restart();
                continue;
            }
            if (idle.Elapsed < SpinTime)
            {
                Thread.SpinWait(32);
                continue;
            }
            // Announce the sleep, then look once more: a Run that started in between either saw the flag
            // (and releases the semaphore) or published its run before it (and we take its parts now).
            Volatile.Write(ref _sleeping[index], 1);
            if (Volatile.Read(ref _state) >> 32 == seen) _wake[index].Wait();
            else if (Interlocked.Exchange(ref _sleeping[index], 0) == 0) _wake[index].Wait();
            idle.Restart();
        }
    }
}
