using TorchSharp;
using static TorchSharp.torch;

namespace MiniLlmPipeline.Alignment;

/// <summary>
/// Next-token cross-entropy −log p(y_t | y_&lt;t): the one loss of pretraining, SFT, validation perplexity and the bench.
/// </summary>
public static class NextTokenCrossEntropy
{
    /// <summary>
    /// The cross-entropy of <paramref name="logits"/> (B, T, V) against <paramref name="targets"/> (B, T).
    /// <para>Without a <paramref name="mask"/> every token counts (pretraining: every position is real text): the mean, or
    /// with <see cref="nn.Reduction.Sum"/> the sum over all B·T tokens (perplexity adds batches of different sizes), by
    /// libtorch's fused <c>cross_entropy</c>.</para>
    /// <para>With a mask (B, T) it is −Σ m_t log p(y_t) / Σ m_t over the whole batch (SFT trains on assistant tokens only):
    /// weighted by token count, not averaged per row, so every supervised token counts the same and padding (m = 0) changes
    /// nothing; a batch with no selected token gives 0, not NaN. It goes through <see cref="TokenLogProbs"/> so that
    /// padded logits never reach a log-softmax. The two paths round differently in the last bits, and the pipeline's
    /// checkpoints were trained with each, so neither replaces the other.</para>
    /// </summary>
    public static Tensor Compute(Tensor logits, Tensor targets, Tensor? mask = null, nn.Reduction reduction = nn.Reduction.Mean)
    {
        if (logits.dim() != 3 || targets.dim() != 2 || logits.shape[0] != targets.shape[0] || logits.shape[1] != targets.shape[1])
            throw new ArgumentException($"Expected logits (B,T,V) and targets (B,T), got [{string.Join(",", logits.shape)}] and [{string.Join(",", targets.shape)}].");
        if (reduction is not (nn.Reduction.Mean or nn.Reduction.Sum) || (mask is not null && reduction != nn.Reduction.Mean))
            throw new ArgumentException($"Expected the mean, or the sum of an unmasked loss, got {reduction}{(mask is null ? "" : " with a mask")}.", nameof(reduction));
        if (mask is null)
            return nn.functional.cross_entropy(logits.reshape(-1, logits.shape[^1]), targets.reshape(-1), reduction: reduction);
        using var scope = NewDisposeScope();
        var negLogLikelihood = TokenLogProbs.Of(logits, targets).neg();
        return MaskedStatistics.Mean(negLogLikelihood, mask).MoveToOuterDisposeScope();
    }
}
