using static TorchSharp.torch;

namespace MiniLlmPipeline.Alignment;

/// <summary>Entropy of the next-token distribution, H = −Σ_v p_v log p_v, for PPO logging (a collapsing entropy warns of mode collapse).</summary>
public static class Entropy
{
    /// <summary>
    /// (B, T, V) logits and (B, T) mask → masked mean entropy (scalar, detached), computed as logsumexp(z) − Σ softmax(z)·z
    /// in fp32 so it never needs log(0).
    /// </summary>
    public static Tensor FromLogits(Tensor logits, Tensor mask)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var z = logits.to_type(ScalarType.Float32);
        var perToken = z.logsumexp(-1) - (z.softmax(-1) * z).sum(-1); // (B, T)
        return MaskedStatistics.Mean(perToken, mask).MoveToOuterDisposeScope();
    }
}
