using System.Collections.Concurrent;
using System.Runtime.InteropServices;
using MiniLlmPipeline.Generation;
using MiniLlmPipeline.Model;

namespace MiniLlmPipeline.Stages.Serve;

/// <summary>
/// Continuous batching on one thread over one shared model, through <see cref="CpuDecoder"/>: every row (a choice of
/// a request) owns a slot of one <see cref="DecodeCache"/>, so rows of any lengths share a step without padding or
/// masks and decode exactly as they would alone. Each step drops the rows that finished or whose client left (their
/// slots free up), admits queued requests into free slots, and feeds one call: the newest token of every running
/// row and the whole prompt of every admitted one (its prefill: the request's time to first token), then samples
/// each row's next token with the row's own sampler.
/// </summary>
internal sealed class DecodeScheduler : IDisposable
{
    private readonly CpuDecoder _decoder;
    private readonly DecodeCache _cache;
    private readonly ServeLimits _limits;
    private readonly ConcurrentQueue<GenerationJob> _queue = new();
    private readonly SemaphoreSlim _wake = new(0);
    private readonly ManualResetEventSlim _running = new(true);
    private readonly Thread _thread;
    private readonly Stack<int> _freeSlots;
    private readonly float[] _logits;
    private List<DecodeRow> _rows = [];
    private int _queued;
    private int _activeRows;
    private volatile bool _stopping;

    public DecodeScheduler(Gpt model, ServeLimits limits)
    {
        _limits = limits;
        _decoder = CpuDecoder.FromModel(model, limits.Threads ?? 1);
        // A request with more choices than max_batch still runs, alone.
        var slots = Math.Max(limits.MaxBatch, limits.MaxChoices);
        _cache = _decoder.NewCache(slots);
        _freeSlots = new Stack<int>(Enumerable.Range(0, slots).Reverse());
        _logits = new float[slots * model.Config.VocabSize];
        ContextLength = model.Config.MaxSeqLen;
        _thread = new Thread(Loop) { IsBackground = true, Name = "serve-decode" };
        _thread.Start();
    }

    public int ContextLength { get; }

    /// <summary>Rows in the decode batch now.</summary>
    public int ActiveRows => Volatile.Read(ref _activeRows);

    /// <summary>The most rows ever decoded in one step (tests check that concurrent requests were batched).</summary>
    public int PeakRows { get; private set; }

    /// <summary>A pause after every decode step (tests slow decoding down to disconnect mid-stream).</summary>
    internal TimeSpan StepDelay { get; set; }

    /// <summary>Jobs waiting for a place in the batch.</summary>
    public int Queued => Volatile.Read(ref _queued);

    /// <summary>False when the queue is full (the caller answers 429).</summary>
    public bool TryEnqueue(GenerationJob job)
    {
        if (Interlocked.Increment(ref _queued) > _limits.MaxQueue)
        {
            Interlocked.Decrement(ref _queued);
            return false;
        }
        _queue.Enqueue(job);
        _wake.Release();
        return true;
    }

    /// <summary>Stops stepping until disposed (tests fill the queue while the scheduler holds still).</summary>
    internal IDisposable Pause()
    {
        _running.Reset();
        return new Resume(this);
    }

    private sealed class Resume(DecodeScheduler scheduler) : IDisposable
    {
        public void Dispose()
        {
            scheduler._running.Set();
            scheduler._wake.Release();
        }
    }

    private void Loop()
    {
        while (!_stopping)
        {
            _running.Wait();
            if (_rows.Count == 0 && _queue.IsEmpty)
            {
                _wake.Wait(TimeSpan.FromSeconds(1));
                continue;
            }
            try
            {
                Step();
            }
            catch (Exception e)
            {
                // A failure must not take the server down: fail the jobs in the batch and carry on with an empty one.
                Console.Error.WriteLine($"serve: decode step failed, {_rows.Count} rows dropped: {e.Message}");
                foreach (var row in _rows)
                {
                    row.Job.Events.Writer.TryWrite(new TokenEvent(row.Choice, -1, "error"));
                    Release(row);
                }
                _rows = [];
                Volatile.Write(ref _activeRows, 0);
            }
        }
    }

    private void Step()
    {
        foreach (var row in _rows.Where(r => r.Gone)) Release(row);
        _rows = _rows.Where(r => !r.Gone).ToList();
        _rows.AddRange(Admit());
        Volatile.Write(ref _activeRows, _rows.Count);
        if (_rows.Count == 0) return;
        PeakRows = Math.Max(PeakRows, _rows.Count);
        DecodeStep();
        if (StepDelay > TimeSpan.Zero) Thread.Sleep(StepDelay);
    }

    /// <summary>Jobs from the queue whose choices fit into the free slots, as new rows (not yet prefilled).</summary>
    private List<DecodeRow> Admit()
    {
        var admitted = new List<DecodeRow>();
        while (_queue.TryPeek(out var job))
        {
            if (job.Cancelled)
            {
                _queue.TryDequeue(out _);
                Interlocked.Decrement(ref _queued);
                job.Events.Writer.TryComplete();
                continue;
            }
            var rows = _rows.Count + admitted.Count;
            if ((rows + job.N > _limits.MaxBatch && rows > 0) || job.N > _freeSlots.Count) break;
            _queue.TryDequeue(out _);
            Interlocked.Decrement(ref _queued);
            for (var choice = 0; choice < job.N; choice++)
            {
                var seed = job.Seed is { } s ? unchecked((int)(s + (ulong)choice)) : Random.Shared.Next();
                var settings = new SamplingSettings
                {
                    Temperature = job.Temperature, TopP = job.TopP, Greedy = job.Greedy, MinP = job.MinP,
                    FrequencyPenalty = job.FrequencyPenalty, PresencePenalty = job.PresencePenalty,
                };
                admitted.Add(new DecodeRow(job, choice, _freeSlots.Pop(), Math.Min(job.MaxTokens, ContextLength - job.Prompt.Length),
                    new CpuSampler(settings, seed)));
            }
        }
        return admitted;
    }

    /// <summary>One call for every row — the newest token of a running row, the prompt of a new one — then one token each.</summary>
    private void DecodeStep()
    {
        var slots = new int[_rows.Count];
        var counts = new int[_rows.Count];
        var tokens = new List<int>(_rows.Count);
        for (var i = 0; i < _rows.Count; i++)
        {
            var row = _rows[i];
            slots[i] = row.Slot;
            if (row.Prefilled) tokens.Add(row.LastToken);
            else tokens.AddRange(row.Job.Prompt);
            counts[i] = row.Prefilled ? 1 : row.Job.Prompt.Length;
            row.Prefilled = true;
        }
        var vocab = _decoder.Config.VocabSize;
        _decoder.Forward(_cache, slots, tokens.ToArray(), counts, _logits);
        for (var i = 0; i < _rows.Count; i++)
            Emit(_rows[i], _rows[i].Sampler.Next(_logits.AsSpan(i * vocab, vocab), CollectionsMarshal.AsSpan(_rows[i].Tokens)));
    }

    /// <summary>Hands a row's sampled token to its job and marks the row when it hit a stop token or its token budget.</summary>
    private static void Emit(DecodeRow row, int token)
    {
        if (row.Gone) return;
        row.Tokens.Add(token);
        var writer = row.Job.Events.Writer;
        writer.TryWrite(new TokenEvent(row.Choice, token, null));
        string? finish = row.Job.StopIds.Contains(token) ? "stop" : row.Generated >= row.MaxTokens ? "length" : null;
        if (finish is null) return;
        row.Finished = true;
        writer.TryWrite(new TokenEvent(row.Choice, -1, finish));
    }

    /// <summary>Gives a row's slot back for the next request.</summary>
    private void Release(DecodeRow row)
    {
        _cache.Clear(row.Slot);
        _freeSlots.Push(row.Slot);
    }

    public void Dispose()
    {
        _stopping = true;
        _running.Set();
        _wake.Release();
        _thread.Join(TimeSpan.FromSeconds(10));
    }
}
