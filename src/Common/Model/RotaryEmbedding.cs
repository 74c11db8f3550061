using TorchSharp;
using static TorchSharp.torch;

namespace MiniLlmPipeline.Model;

/// <summary>
/// Rotary position embeddings (Su et al., 2021, RoFormer eq. 34) in the Hugging Face Llama
/// "rotate_half" layout: the head dimension is split into two halves that form the (x₁, x₂) pairs,
/// so weights trained here and in transformers rotate the same coordinates.
/// cos/sin are precomputed for every position up to max_seq_len.
/// </summary>
public sealed class RotaryEmbedding : nn.Module
{
    // Buffers (not parameters): they follow the module to its device but are never trained or exported.
    private Tensor cos;
    private Tensor sin;
    private readonly int maxSeqLen;

    public RotaryEmbedding(int headDim, int maxSeqLen, double theta) : base(nameof(RotaryEmbedding))
    {
        this.maxSeqLen = maxSeqLen;
        using (torch.NewDisposeScope())
        {
            // θᵢ = theta^(-2i/d), i = 0 .. d/2-1
            var invFreq = torch.pow(theta, -torch.arange(0, headDim, 2, dtype: float64) / headDim); // (D/2)
            var freqs = torch.outer(torch.arange(maxSeqLen, dtype: float64), invFreq);               // (S, D/2)
            var angles = torch.cat([freqs, freqs], dim: -1);                                          // (S, D)
            cos = angles.cos().to(float32).MoveToOuterDisposeScope();
            sin = angles.sin().to(float32).MoveToOuterDisposeScope();
        }
        RegisterComponents();
    }

    /// <summary>cos and sin for positions start..start+T-1, (T, 1, D): broadcastable over (B, T, H, D).</summary>
    public (Tensor Cos, Tensor Sin) ForRange(long start, long length)
    {
        CheckLength(start + length);
        return (cos.narrow(0, start, length).unsqueeze(1), sin.narrow(0, start, length).unsqueeze(1)); // (T, 1, D)
    }

    /// <summary>cos and sin for explicit positions (B, T), shaped (B, T, 1, D) to broadcast over heads.</summary>
    public (Tensor Cos, Tensor Sin) ForPositions(Tensor positions)
    {
        return (cos[positions].unsqueeze(2), sin[positions].unsqueeze(2));
    }

    /// <summary>
    /// x·cos + rotate_half(x)·sin, where rotate_half(x₁, x₂) = (−x₂, x₁); computed against the fp32
    /// tables, returned in x's dtype (bf16 q/k under mixed precision).
    /// </summary>
    public static Tensor Apply(Tensor x, Tensor cos, Tensor sin) // x: (B, T, H, D)
    {
        using var scope = torch.NewDisposeScope();
        var halves = x.chunk(2, -1); // x₁, x₂ (a split: its backward is one concatenation, not two zero-padded copies)
        var rotated = torch.cat([-halves[1], halves[0]], dim: -1);
        return (x * cos + rotated * sin).to(x.dtype).MoveToOuterDisposeScope();
    }

    private void CheckLength(long needed)
    {
        if (needed > maxSeqLen)
            throw new ArgumentOutOfRangeException(nameof(needed), $"sequence of {needed} positions exceeds max_seq_len {maxSeqLen}");
    }
}
