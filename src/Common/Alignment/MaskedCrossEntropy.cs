using static TorchSharp.torch;

namespace MiniLlmPipeline.Alignment;

/// <summary>Next-token negative log-likelihood over selected tokens only (SFT trains on assistant tokens).</summary>
public static class MaskedCrossEntropy
{
    /// <summary>
    /// −Σ m_t log p(y_t) / Σ m_t over the whole batch: <paramref name="logits"/> (B, T, V), <paramref name="targets"/> (B, T),
    /// <paramref name="mask"/> (B, T). Weighted by token count, not averaged per row, so every supervised token counts
    /// the same and padding (m = 0) changes nothing. A batch with no selected token gives 0, not NaN.
    /// </summary>
    public static Tensor Compute(Tensor logits, Tensor targets, Tensor mask)
    {
        using var scope = NewDisposeScope();
        var negLogLikelihood = TokenLogProbs.Of(logits, targets).neg();
        return MaskedStatistics.Mean(negLogLikelihood, mask).MoveToOuterDisposeScope();
    }
}
