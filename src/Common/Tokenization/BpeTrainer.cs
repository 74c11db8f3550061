using System.Collections.Concurrent;
using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Text;

namespace MiniLlmPipeline.Tokenization;

/// <summary>
/// Learns a byte-level BPE (Sennrich et al. 2016; GPT-2's byte-level variant, Radford et al. 2019).
/// Same algorithm as Hugging Face tokenizers' <c>BpeTrainer</c>:
/// <list type="number">
/// <item>count the unique pre-tokens (<see cref="PreTokenSplitter"/>) of the corpus, in parallel;</item>
/// <item>count every adjacent symbol pair once, weighted by pre-token frequency, remembering where
/// each pair occurs;</item>
/// <item>repeatedly take the most frequent pair from a max-heap (ties: the smaller (left, right) id pair,
/// so the result is deterministic), rewrite only its occurrences and update the counts of the
/// neighbouring pairs that changed — never a full recount. Heap entries are refreshed lazily: counts of
/// existing pairs only fall, so a popped entry whose count is stale is pushed back with its current count.</item>
/// </list>
/// Stops at <c>vocabSize</c> tokens (bytes + specials + merges) or when the best pair occurs fewer than
/// <c>minFrequency</c> times.
/// </summary>
public sealed class BpeTrainer(int vocabSize, int minFrequency)
{
    public int VocabSize { get; } = vocabSize >= SpecialTokens.FirstId + SpecialTokens.All.Count
        ? vocabSize : throw new ArgumentOutOfRangeException(nameof(vocabSize), "vocab size must leave room for 256 bytes and the special tokens");
    public int MinFrequency { get; } = Math.Max(1, minFrequency);

    public BpeModel Train(IReadOnlyList<string> documents, Action<string>? log = null) => TrainOnBatches([documents], log);

    /// <summary>
    /// Learns from documents that arrive in batches (a corpus's row groups): only the pre-token counts are kept between
    /// batches, so memory is bounded by the number of distinct pre-tokens, not by the corpus. The result is the same
    /// however the documents are batched.
    /// </summary>
    public BpeModel TrainOnBatches(IEnumerable<IReadOnlyList<string>> batches, Action<string>? log = null)
    {
        var clock = Stopwatch.StartNew();
        var counts = CountPreTokens(batches);
        log?.Invoke($"{counts.Count:N0} unique pre-tokens counted in {clock.Elapsed.TotalSeconds:F2}s");
        var symbols = new SymbolTable(counts);
        counts = null;
        // The pre-token strings and the counting's garbage (row groups, per-slice dictionaries) are dead from here on; a
        // compacting collection returns them before the merges allocate, instead of leaving them under the merge phase's
        // peak (with the dropped empty pairs, 643 → 623 MB of the tokenize stage's peak RSS at 10× the Tang corpus).
        GC.Collect(GC.MaxGeneration, GCCollectionMode.Forced, blocking: true, compacting: true);
        var model = BpeModel.BytesOnly();
        var tokens = new List<string>(model.Tokens);
        var ids = tokens.Select((t, i) => (t, i)).ToDictionary(x => x.t, x => x.i, StringComparer.Ordinal);
        var merges = new List<(int, int)>();

        var pairs = new Dictionary<long, PairStats>(PairKeyComparer.Instance);
        for (var p = 0; p < symbols.Length; p++)
            if (symbols.PairAt(p) is var pair and >= 0) PairFor(pairs, pair).Add(p, symbols.WeightAt(p));
        var heap = new PriorityQueue<long, (long NegCount, long Key)>();
        DropRarePairs(pairs, pairs.Keys.ToList());
        foreach (var (key, stats) in pairs) heap.Enqueue(key, (-stats.Count, key));
        log?.Invoke($"{pairs.Count:N0} distinct pairs over {symbols.Length:N0} bytes indexed at {clock.Elapsed.TotalSeconds:F2}s");

        var created = new List<long>();
        while (tokens.Count < VocabSize && heap.TryDequeue(out var key, out var priority))
        {
            if (!pairs.TryGetValue(key, out var stats)) continue;   // no occurrence left (see Change)
            if (stats.Count != -priority.NegCount)
            {
                if (stats.Count > 0) heap.Enqueue(key, (-stats.Count, key));
                continue;
            }
            if (stats.Count < MinFrequency) break;

            var (left, right) = Unkey(key);
            var text = tokens[left] + tokens[right];
            if (!ids.TryGetValue(text, out var merged))
            {
                merged = tokens.Count;
                tokens.Add(text);
                ids[text] = merged;
            }
            merges.Add((left, right));
            if (merges.Count % 1000 == 0) log?.Invoke($"{merges.Count:N0} merges, vocab {tokens.Count:N0}, last pair count {stats.Count:N0}, {clock.Elapsed.TotalSeconds:F2}s");

            created.Clear();
            symbols.Merge(stats, left, right, merged, pairs, created);
            pairs.Remove(key);
            DropRarePairs(pairs, created);
            foreach (var newKey in created)
                if (pairs.TryGetValue(newKey, out var fresh)) heap.Enqueue(newKey, (-fresh.Count, newKey));
        }
        return new BpeModel(tokens, merges);
    }

    /// <summary>Unique pre-tokens and their frequencies; special tokens in the text are skipped, never learned from.</summary>
    internal static Dictionary<string, int> CountPreTokens(IEnumerable<IReadOnlyList<string>> batches)
    {
        // Counted a slice at a time and added to the total, so what is held besides the total is one slice's counts,
        // not a second dictionary of a whole row group's distinct pre-tokens.
        const int SliceDocuments = 8192;
        var total = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var batch in batches)
        {
            for (var start = 0; start < batch.Count; start += SliceDocuments)
            {
                var counts = CountPreTokens(batch, start, Math.Min(SliceDocuments, batch.Count - start));
                if (total.Count == 0) total = counts;
                else foreach (var (word, count) in counts) CollectionsMarshal.GetValueRefOrAddDefault(total, word, out _) += count;
            }
        }
        return total;
    }

    internal static Dictionary<string, int> CountPreTokens(IReadOnlyList<string> documents) => CountPreTokens(documents, 0, documents.Count);

    private static Dictionary<string, int> CountPreTokens(IReadOnlyList<string> documents, int first, int count)
    {
        if (count == 0) return new Dictionary<string, int>(StringComparer.Ordinal);
        var partials = new ConcurrentBag<Dictionary<string, int>>();
        Parallel.ForEach(Partitioner.Create(first, first + count, Math.Max(1, count / (4 * Environment.ProcessorCount) + 1)),
            () => new Dictionary<string, int>(StringComparer.Ordinal),
            (Tuple<int, int> range, ParallelLoopState loop, Dictionary<string, int> local) =>
            {
                var lookup = local.GetAlternateLookup<ReadOnlySpan<char>>();
                for (var d = range.Item1; d < range.Item2; d++)
                {
                    var text = documents[d];
                    foreach (var (offset, length, isSpecial) in PreTokenSplitter.Split(text))
                        if (!isSpecial) CollectionsMarshal.GetValueRefOrAddDefault(lookup, text.AsSpan(offset, length), out _)++;
                }
                return local;
            },
            partials.Add);
        Dictionary<string, int>? total = null;
        foreach (var partial in partials)
        {
            if (total is null) { total = partial; continue; }
            foreach (var (word, n) in partial) CollectionsMarshal.GetValueRefOrAddDefault(total, word, out _) += n;
        }
        return total ?? new Dictionary<string, int>(StringComparer.Ordinal);
    }

    /// <summary>
    /// Forgets pairs below <see cref="MinFrequency"/>: a pair's count only grows in the merge that creates it
    /// (it holds the newest token), so these can never be chosen. On CJK text most new pairs are such
    /// one-off character bigrams; dropping them keeps the heap and the pair table small.
    /// </summary>
    private void DropRarePairs(Dictionary<long, PairStats> pairs, List<long> keys)
    {
        foreach (var key in keys)
            if (pairs.TryGetValue(key, out var stats) && stats.Count < MinFrequency) pairs.Remove(key);
    }

    internal static long Key(int left, int right) => ((long)left << 32) | (uint)right;
    private static (int Left, int Right) Unkey(long key) => ((int)(key >> 32), (int)key);

    private static PairStats PairFor(Dictionary<long, PairStats> pairs, long key)
    {
        ref var stats = ref CollectionsMarshal.GetValueRefOrAddDefault(pairs, key, out var exists);
        if (!exists) stats = new PairStats();
        return stats!;
    }

    /// <summary>
    /// long's own hash is <c>left ^ right</c>, which puts most pairs of small ids into a few thousand
    /// buckets; Fibonacci hashing spreads them.
    /// </summary>
    private sealed class PairKeyComparer : IEqualityComparer<long>
    {
        public static readonly PairKeyComparer Instance = new();
        public bool Equals(long x, long y) => x == y;
        public int GetHashCode(long key) => (int)(((ulong)key * 0x9E3779B97F4A7C15UL) >> 32);
    }

    /// <summary>
    /// How often a pair occurs (weighted) and where: positions of its left symbol, some of them stale.
    /// The first position is kept inline because most pairs created on CJK text occur once and are
    /// dropped right away; not allocating a list for them saves most of the garbage.
    /// </summary>
    private sealed class PairStats
    {
        public long Count;
        private int _first = -1;
        private List<int>? _more;

        public void Add(int position, long weight)
        {
            Count += weight;
            if (_first < 0) _first = position;
            else (_more ??= []).Add(position);
        }

        public int PositionCount => _first < 0 ? 0 : 1 + (_more?.Count ?? 0);
        public int PositionAt(int i) => i == 0 ? _first : _more![i - 1];
    }

    /// <summary>
    /// Every unique pre-token as a doubly linked list of symbols in flat arrays (one slot per UTF-8 byte),
    /// so a merge rewrites only the occurrences it lists instead of rescanning whole pre-tokens; CJK text,
    /// where a few byte pairs occur in nearly every pre-token, needs this to be fast.
    /// </summary>
    private sealed class SymbolTable
    {
        private readonly int[] _symbol;
        private readonly int[] _prev;
        private readonly int[] _next;
        private readonly int[] _weight;

        public SymbolTable(Dictionary<string, int> counts)
        {
            var total = 0L;
            foreach (var word in counts.Keys) total += Encoding.UTF8.GetByteCount(word);
            _symbol = new int[total];
            _prev = new int[total];
            _next = new int[total];
            _weight = new int[total];
            var buffer = new byte[256];
            var at = 0;
            foreach (var (word, count) in counts)
            {
                var needed = Encoding.UTF8.GetMaxByteCount(word.Length);
                if (buffer.Length < needed) buffer = new byte[needed];
                var n = Encoding.UTF8.GetBytes(word, buffer);
                for (var i = 0; i < n; i++, at++)
                {
                    _symbol[at] = buffer[i];
                    _prev[at] = i > 0 ? at - 1 : -1;
                    _next[at] = i + 1 < n ? at + 1 : -1;
                    _weight[at] = count;
                }
            }
        }

        public int Length => _symbol.Length;

        /// <summary>The pair starting at <paramref name="p"/>, or -1 at the end of a pre-token.</summary>
        public long PairAt(int p) => _next[p] < 0 ? -1 : Key(_symbol[p], _symbol[_next[p]]);
        public int WeightAt(int p) => _weight[p];

        /// <summary>
        /// Replaces (left, right) at each listed position still holding it, left to right, by
        /// <paramref name="merged"/>, moving the weight of the neighbour pairs that disappear to the ones
        /// that appear: (prev, left) → (prev, merged) and (right, next) → (merged, next).
        /// </summary>
        public void Merge(PairStats positions, int left, int right, int merged, Dictionary<long, PairStats> pairs, List<long> created)
        {
            var mergedKey = Key(left, right);
            for (var i = 0; i < positions.PositionCount; i++)
            {
                var p = positions.PositionAt(i);
                var q = _next[p];
                if (_symbol[p] != left || q < 0 || _symbol[q] != right) continue;   // stale: rewritten by an earlier merge
                long weight = _weight[p];
                int before = _prev[p], after = _next[q];
                if (before >= 0)
                {
                    Change(pairs, Key(_symbol[before], left), -weight, before, mergedKey, created);
                    Change(pairs, Key(_symbol[before], merged), weight, before, mergedKey, created);
                }
                if (after >= 0)
                {
                    Change(pairs, Key(right, _symbol[after]), -weight, p, mergedKey, created);
                    Change(pairs, Key(merged, _symbol[after]), weight, p, mergedKey, created);
                    _prev[after] = p;
                }
                _symbol[p] = merged;
                _symbol[q] = -1;
                _next[p] = after;
            }
        }

        private static void Change(Dictionary<long, PairStats> pairs, long key, long delta, int position, long mergedKey, List<long> created)
        {
            if (key == mergedKey) return;
            if (delta < 0)
            {
                if (!pairs.TryGetValue(key, out var existing)) return;   // absent: dropped as rare, or no occurrence left
                existing.Count += delta;
                // Every occurrence is gone: forget the pair and its (all stale) positions. Should a later merge create it
                // again, it starts from zero, which is then its true count.
                if (existing.Count <= 0) pairs.Remove(key);
                return;
            }
            ref var stats = ref CollectionsMarshal.GetValueRefOrAddDefault(pairs, key, out var exists);
            if (!exists)
            {
                stats = new PairStats();
                created.Add(key);
            }
            stats!.Add(position, delta);
        }
    }
}
