using TorchSharp;
using static TorchSharp.torch;

namespace MiniLlmPipeline.Model;

/// <summary>
/// Keys and values of every layer for the tokens already processed, so incremental decoding feeds
/// only the new token. Storage is preallocated to <c>capacity</c> positions on first use and filled
/// in place (no per-token reallocation as with concatenation). The tensors live outside any dispose
/// scope; dispose the cache when generation ends.
/// </summary>
public sealed class KvCache(int nLayers, int capacity) : IDisposable
{
    private readonly Tensor?[] keys = new Tensor?[nLayers];
    private readonly Tensor?[] values = new Tensor?[nLayers];

    /// <summary>Positions already cached (the same for every layer between forward passes).</summary>
    public int Length { get; private set; }

    public int Capacity { get; } = capacity;

    /// <summary>
    /// Writes this step's k, v (B, Hkv, T, D) for one layer after the cached ones and returns views of
    /// all keys and values so far (B, Hkv, Length+T, D).
    /// </summary>
    public (Tensor Keys, Tensor Values) Append(int layer, Tensor k, Tensor v)
    {
        var t = (int)k.shape[2];
        if (Length + t > Capacity)
            throw new InvalidOperationException($"KV cache holds {Capacity} positions; {Length + t} requested");
        if (keys[layer] is null)
        {
            long[] shape = [k.shape[0], k.shape[1], Capacity, k.shape[3]];
            keys[layer] = torch.empty(shape, k.dtype, k.device).DetachFromDisposeScope();
            values[layer] = torch.empty(shape, v.dtype, v.device).DetachFromDisposeScope();
        }
        using (torch.no_grad())
        {
            keys[layer]!.narrow(2, Length, t).copy_(k);
            values[layer]!.narrow(2, Length, t).copy_(v);
        }
        return (keys[layer]!.narrow(2, 0, Length + t), values[layer]!.narrow(2, 0, Length + t));
    }

    /// <summary>Marks <paramref name="t"/> more positions as cached, after every layer appended them.</summary>
    public void Advance(int t) => Length += t;

    public void Dispose()
    {
        foreach (var tensor in keys.Concat(values)) tensor?.Dispose();
        Array.Clear(keys);
        Array.Clear(values);
    }
}
