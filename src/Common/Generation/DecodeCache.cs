namespace MiniLlmPipeline.Generation;

/// <summary>
/// The keys and values <see cref="CpuDecoder"/> has computed, per sequence slot: each slot holds one sequence's
/// positions 0 .. Length−1 of every layer and kv head, preallocated to the context length and written in place.
/// Slots are independent, so sequences of different lengths share one batch without padding, and a slot whose
/// sequence ended is cleared and reused by the next one (the serve program's continuous batching).
/// Layout, fp32: keys [slot][layer][kv head][head dim][position] (transposed, so attention scores are vectors
/// along positions), values [slot][layer][kv head][position][head dim].
/// </summary>
public sealed class DecodeCache
{
    private readonly int _layers;
    private readonly int _kvHeads;
    private readonly int _headDim;
    private readonly int[] _lengths;

    internal DecodeCache(int slots, int layers, int kvHeads, int headDim, int capacity)
    {
        _layers = layers;
        _kvHeads = kvHeads;
        _headDim = headDim;
        Capacity = capacity;
        _lengths = new int[slots];
        var size = (long)slots * layers * kvHeads * capacity * headDim;
        if (size > Array.MaxLength) throw new ArgumentOutOfRangeException(nameof(slots), $"a cache of {slots} slots × {capacity} positions is too large");
        Keys = new float[size];
        Values = new float[size];
    }

    /// <summary>Sequences the cache can hold at once.</summary>
    public int Slots => _lengths.Length;

    /// <summary>Positions per slot (the model's context length).</summary>
    public int Capacity { get; }

    internal float[] Keys { get; }

    internal float[] Values { get; }

    /// <summary>Positions already cached in <paramref name="slot"/>.</summary>
    public int Length(int slot) => _lengths[slot];

    /// <summary>Forgets a slot's sequence so a new one can start there.</summary>
    public void Clear(int slot) => _lengths[slot] = 0;

    internal void Advance(int slot, int positions) => _lengths[slot] += positions;

    /// <summary>Where (slot, layer, kv head) starts in <see cref="Keys"/> and <see cref="Values"/>: a key's dimension i of position p at + i·Capacity + p, a value's at + p·D + i.</summary>
    internal int Offset(int slot, int layer, int kvHead) => ((slot * _layers + layer) * _kvHeads + kvHead) * Capacity * _headDim;
}
