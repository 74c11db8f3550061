using TorchSharp;
using static TorchSharp.torch;

namespace MiniLlmPipeline.Data;

/// <summary>
/// Random contiguous windows of a token sequence as next-token training pairs (nanoGPT's get_batch). The start
/// positions come from an RNG seeded by the caller, so a batch is a pure function of that seed: the basis of exact
/// resume when the seed is mixed from (run seed, micro-batch index).
/// </summary>
public static class TokenWindows
{
    /// <summary>Inputs (B, T) and next-token targets (B, T) from <paramref name="rows"/> random windows of T + 1 ids.</summary>
    public static (Tensor Inputs, Tensor Targets) Sample(ITokenSequence tokens, int rows, int seqLen, int seed, Device device)
    {
        if (tokens.Count < seqLen + 1)
            throw new DatasetException($"the corpus has {tokens.Count} tokens, fewer than one training window of max_seq_len + 1 = {seqLen + 1}");
        var rng = new Random(seed);
        var ids = new long[rows * (seqLen + 1)];
        for (var b = 0; b < rows; b++)
            tokens.Read(rng.NextInt64(0, tokens.Count - seqLen), ids.AsSpan(b * (seqLen + 1), seqLen + 1));
        var window = torch.tensor(ids, [rows, seqLen + 1], device: device);
        return (window.narrow(1, 0, seqLen), window.narrow(1, 1, seqLen));
    }
}
