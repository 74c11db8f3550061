
namespace MiniLlmPipeline.Data;

/// <summary>
/// Batches example indices so that each batch holds sequences of similar length (little padding) while the order stays
/// random: per epoch, shuffle all indices, cut the shuffle into chunks of <c>chunkBatches</c> batches, sort each chunk by
/// length, slice it into batches, and shuffle the batch order. Everything derives from (seed, epoch) through a
/// counter-based generator, so <see cref="Batch"/> of global index k is a pure function of (seed, k): a resumed run
/// sees exactly the batches it would have seen. Every index appears exactly once per epoch; the epoch's last batch may
/// be smaller. Not thread-safe (it caches the current epoch's plan).
/// </summary>
public sealed class LengthBucketSampler
{
    private readonly int[] _lengths;
    private readonly ulong _seed;
    private int _cachedEpoch = -1;
    private int[][] _cachedBatches = [];

    public LengthBucketSampler(IReadOnlyList<int> lengths, int batchSize, long seed, int chunkBatches = 50)
    {
        if (lengths.Count == 0) throw new ArgumentException("The sampler needs at least one example.", nameof(lengths));
        if (batchSize < 1) throw new ArgumentOutOfRangeException(nameof(batchSize), batchSize, "must be positive");
        if (chunkBatches < 1) throw new ArgumentOutOfRangeException(nameof(chunkBatches), chunkBatches, "must be positive");
        _lengths = lengths.ToArray();
        _seed = (ulong)seed;
        BatchSize = batchSize;
        ChunkBatches = chunkBatches;
        BatchesPerEpoch = (_lengths.Length + batchSize - 1) / batchSize;
    }

    public int BatchSize { get; }
    public int ChunkBatches { get; }
    public int BatchesPerEpoch { get; }

    /// <summary>The example indices of global batch <paramref name="k"/> (epoch k / BatchesPerEpoch).</summary>
    public int[] Batch(long k)
    {
        if (k < 0) throw new ArgumentOutOfRangeException(nameof(k), k, "must not be negative");
        var epoch = checked((int)(k / BatchesPerEpoch));
        return (int[])EpochBatches(epoch)[k % BatchesPerEpoch].Clone();
    }

    private int[][] EpochBatches(int epoch)
    {
        if (epoch == _cachedEpoch) return _cachedBatches;
        var random = new SplitMix64(_seed ^ (0x9E3779B97F4A7C15UL * (ulong)(epoch + 1)));
        var order = Enumerable.Range(0, _lengths.Length).ToArray();
        random.Shuffle(order);

        var chunkSize = ChunkBatches * BatchSize;
        var batches = new List<int[]>(BatchesPerEpoch);
        for (var start = 0; start < order.Length; start += chunkSize)
        {
            // OrderBy is stable, so ties keep their shuffled order.
            var chunk = order.Skip(start).Take(chunkSize).OrderByDescending(i => _lengths[i]).ToArray();
            batches.AddRange(chunk.Chunk(BatchSize));
        }
        var shuffled = batches.ToArray();
        random.Shuffle(shuffled);
        (_cachedEpoch, _cachedBatches) = (epoch, shuffled);
        return shuffled;
    }

    /// <summary>SplitMix64 (Steele et al. 2014): a tiny generator whose output is fixed by its seed on every runtime, unlike System.Random.</summary>
    private struct SplitMix64(ulong state)
    {
        private ulong _state = state;

        private ulong Next() => SeedMix.Mix(_state += 0x9E3779B97F4A7C15UL);

        public void Shuffle<T>(T[] items)
        {
            for (var i = items.Length - 1; i > 0; i--)
            {
                var j = (int)(Next() % (ulong)(i + 1)); // Fisher–Yates; the modulo bias is < 2^-40 for any realistic size
                (items[i], items[j]) = (items[j], items[i]);
            }
        }
    }
}
