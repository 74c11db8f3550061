using System.Collections.Concurrent;
using MiniLlmPipeline.Model;
using MiniLlmPipeline.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace MiniLlmPipeline.Stages.Serve;

/// <summary>
/// Continuous batching on one thread over one shared model. Every row of the batch sits in one KV cache whose
/// columns are a common timeline: a row owns the columns from its <see cref="DecodeRow.Start"/> to the newest, the
/// attention mask hides the rest, and positions count only a row's own columns (as for left padding in
/// BatchedGenerator), so each row decodes as it would alone. Between two decode steps the scheduler drops rows that
/// finished or whose client left, prefills the requests that arrived (together, left-padded) and splices their keys
/// and values into a rebuilt cache, right-aligned to the newest column. When the timeline reaches the cache's
/// capacity (twice the context) the columns no row uses any more are dropped the same way.
/// </summary>
internal sealed class DecodeScheduler : IDisposable
{
    private readonly Gpt _model;
    private readonly int _padId;
    private readonly ServeLimits _limits;
    private readonly ConcurrentQueue<GenerationJob> _queue = new();
    private readonly SemaphoreSlim _wake = new(0);
    private readonly ManualResetEventSlim _running = new(true);
    private readonly Thread _thread;
    private readonly int _capacity;
    private List<DecodeRow> _rows = [];
    private KvCache? _cache;
    private int _queued;
    private int _activeRows;
    private volatile bool _stopping;

    public DecodeScheduler(Gpt model, int padId, ServeLimits limits)
    {
        _model = model;
        _padId = padId;
        _limits = limits;
        _capacity = 2 * model.Config.MaxSeqLen;
        _thread = new Thread(Loop) { IsBackground = true, Name = "serve-decode" };
        _thread.Start();
    }

    public int ContextLength => _model.Config.MaxSeqLen;

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
        using var noGrad = torch.no_grad();
        using var fp32 = MixedPrecision.Suspend();
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
                    row.Dispose();
                }
                _rows = [];
                _cache?.Dispose();
                _cache = null;
                Volatile.Write(ref _activeRows, 0);
            }
        }
    }

    private void Step()
    {
        var keep = _rows.Where(r => !r.Gone).ToList();
        var admitted = Admit(keep.Count);
        if (keep.Count != _rows.Count || admitted.Count > 0 || (_cache is not null && _cache.Length + 1 > _capacity))
            Rebuild(keep, admitted);
        Volatile.Write(ref _activeRows, _rows.Count);
        if (_rows.Count == 0) return;
        PeakRows = Math.Max(PeakRows, _rows.Count);
        DecodeStep();
        if (StepDelay > TimeSpan.Zero) Thread.Sleep(StepDelay);
    }

    /// <summary>Jobs from the queue that fit into the batch, as new rows (not yet prefilled).</summary>
    private List<GenerationJob> Admit(int rowsInBatch)
    {
        var admitted = new List<GenerationJob>();
        while (_queue.TryPeek(out var job))
        {
            if (job.Cancelled)
            {
                _queue.TryDequeue(out _);
                Interlocked.Decrement(ref _queued);
                job.Events.Writer.TryComplete();
                continue;
            }
            if (rowsInBatch + job.N > _limits.MaxBatch && rowsInBatch > 0) break;
            _queue.TryDequeue(out _);
            Interlocked.Decrement(ref _queued);
            admitted.Add(job);
            rowsInBatch += job.N;
        }
        return admitted;
    }

    /// <summary>
    /// The new cache: the kept rows' columns and the admitted rows' prefilled columns, right-aligned to one newest
    /// column; columns no row owns any more are dropped.
    /// </summary>
    private void Rebuild(List<DecodeRow> keep, List<GenerationJob> admitted)
    {
        using var scope = torch.NewDisposeScope();
        var (fresh, freshCache) = Prefill(admitted);
        foreach (var row in _rows.Where(r => r.Gone)) row.Dispose();
        var oldLength = _cache?.Length ?? 0;
        var keptLength = keep.Count > 0 ? keep.Max(r => r.Length) : 0;
        var freshLength = freshCache?.Length ?? 0;
        var length = Math.Max(keptLength, freshLength);
        var rows = keep.Concat(fresh.Where(r => !r.Finished)).ToList();
        foreach (var row in fresh.Where(r => r.Finished)) row.Dispose();
        KvCache? cache = null;
        if (rows.Count > 0)
        {
            cache = new KvCache(_model.Config.NLayers, _capacity);
            var keepIndex = keep.Count > 0 && _cache is not null ? torch.tensor(keep.Select(r => (long)_rows.IndexOf(r)).ToArray(), device: Device) : null;
            var freshIndex = torch.tensor(fresh.Select((r, i) => (r, i)).Where(x => !x.r.Finished).Select(x => (long)x.i).ToArray(), device: Device);
            for (var layer = 0; layer < _model.Config.NLayers; layer++)
            {
                var keys = new List<Tensor>();
                var values = new List<Tensor>();
                if (keepIndex is not null)
                {
                    var (k, v) = _cache!.Cached(layer)!.Value;
                    keys.Add(AlignRight(k.index_select(0, keepIndex).narrow(2, oldLength - keptLength, keptLength), length));
                    values.Add(AlignRight(v.index_select(0, keepIndex).narrow(2, oldLength - keptLength, keptLength), length));
                }
                if (freshCache is not null && freshIndex.numel() > 0)
                {
                    var (k, v) = freshCache.Cached(layer)!.Value;
                    keys.Add(AlignRight(k.index_select(0, freshIndex), length));
                    values.Add(AlignRight(v.index_select(0, freshIndex), length));
                }
                cache.Append(layer, torch.cat(keys, 0), torch.cat(values, 0));
            }
            cache.Advance(length);
            foreach (var row in rows) row.Start = length - row.Length;
        }
        freshCache?.Dispose();
        _cache?.Dispose();
        _cache = cache;
        _rows = rows;
    }

    /// <summary>(B, H, S, D) → (B, H, length, D) with zero columns in front (masked out).</summary>
    private static Tensor AlignRight(Tensor t, int length) =>
        t.shape[2] == length ? t : nn.functional.pad(t, [0, 0, length - t.shape[2], 0]);

    private Device Device => _model.parameters().First().device;

    /// <summary>
    /// Runs the admitted prompts through the model together (left-padded) into a cache of their own, and samples
    /// each row's first token from its last position: the request's time to first token.
    /// </summary>
    private (List<DecodeRow> Rows, KvCache? Cache) Prefill(List<GenerationJob> admitted)
    {
        if (admitted.Count == 0) return ([], null);
        var rows = new List<DecodeRow>();
        foreach (var job in admitted)
            for (var choice = 0; choice < job.N; choice++)
            {
                var rng = new torch.Generator(job.Seed is { } seed ? seed + (ulong)choice : (ulong)Random.Shared.NextInt64());
                rows.Add(new DecodeRow(job, choice, Math.Min(job.MaxTokens, ContextLength - job.Prompt.Length), rng) { Length = job.Prompt.Length });
            }
        var width = rows.Max(r => r.Length);
        var ids = new long[rows.Count * width];
        var mask = new bool[rows.Count * width];
        Array.Fill(ids, _padId);
        for (var i = 0; i < rows.Count; i++)
        {
            var prompt = rows[i].Job.Prompt;
            for (var j = 0; j < prompt.Length; j++)
            {
                ids[i * width + width - prompt.Length + j] = prompt[j];
                mask[i * width + width - prompt.Length + j] = true;
            }
        }
        UseThreads(rows.Count * width);
        var cache = new KvCache(_model.Config.NLayers, width);
        var padded = rows.Any(r => r.Length != width);
        var hidden = _model.HiddenStates(torch.tensor(ids, [rows.Count, width], device: Device),
            padded ? torch.tensor(mask, [rows.Count, width], device: Device) : null, cache);
        var logits = _model.Logits(hidden.select(1, -1));
        Emit(rows, RowSampler.Sample(logits, rows));
        return (rows, cache);
    }

    /// <summary>One token for every row: the newest tokens in, the next ones sampled.</summary>
    private void DecodeStep()
    {
        UseThreads(_rows.Count);
        using var scope = torch.NewDisposeScope();
        var columns = _cache!.Length + 1;
        var starts = torch.tensor(_rows.Select(r => (long)r.Start).ToArray(), device: Device).unsqueeze(1);  // (B, 1)
        var mask = torch.arange(columns, device: Device).unsqueeze(0) >= starts;                              // (B, S)
        var input = torch.tensor(_rows.Select(r => r.LastToken).ToArray(), device: Device).unsqueeze(1);      // (B, 1)
        var hidden = _model.HiddenStates(input, mask, _cache);
        foreach (var row in _rows) row.Length++;
        var logits = _model.Logits(hidden.select(1, -1));
        Emit(_rows, RowSampler.Sample(logits, _rows));
    }

    /// <summary>
    /// One libtorch thread below 16 rows, <see cref="ServeLimits.Threads"/> from 16 rows on; set only when it changes.
    /// Measured with the bench's serve section on the 2-core machine (default model, load average 7-9): 1 vs 2
    /// threads gave 397 vs 298 tok/s at 4 clients, 572 vs 562 at 16, 770 vs 984 at 32 (the final setting: 331, 566, 770
    /// at load 14) — small per-row ops do not
    /// pay for the threads' barrier (TorchRuntime.DecodingThreads), a large batch does.
    /// </summary>
    private void UseThreads(int rows)
    {
        if (_limits.Threads is not { } many) return;
        var threads = rows >= 16 ? many : 1;
        if (threads == _threads) return;
        torch.set_num_threads(threads);
        _threads = threads;
    }

    private int _threads;

    /// <summary>Hands each row's sampled token to its job and marks rows that hit a stop token or their token budget.</summary>
    private static void Emit(IReadOnlyList<DecodeRow> rows, Tensor next)
    {
        var tokens = next.cpu().data<long>().ToArray();
        for (var i = 0; i < rows.Count; i++)
        {
            var row = rows[i];
            if (row.Gone) continue;
            var token = (int)tokens[i];
            row.LastToken = token;
            row.Generated++;
            var writer = row.Job.Events.Writer;
            writer.TryWrite(new TokenEvent(row.Choice, token, null));
            string? finish = row.Job.StopIds.Contains(token) ? "stop" : row.Generated >= row.MaxTokens ? "length" : null;
            if (finish is null) continue;
            row.Finished = true;
            writer.TryWrite(new TokenEvent(row.Choice, -1, finish));
        }
    }

    public void Dispose()
    {
        _stopping = true;
        _running.Set();
        _wake.Release();
        _thread.Join(TimeSpan.FromSeconds(10));
        foreach (var row in _rows) row.Dispose();
        _cache?.Dispose();
    }
}
