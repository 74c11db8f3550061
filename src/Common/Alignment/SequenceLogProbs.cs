using static TorchSharp.torch;

namespace MiniLlmPipeline.Alignment;

/// <summary>
/// A response's log-probability from its per-token log-probs: log π(y | x) = Σ_t m_t log π(y_t | x, y_&lt;t),
/// where the mask m selects the response tokens (prompt and padding are 0).
/// </summary>
public static class SequenceLogProbs
{
    /// <summary>(B, T) token log-probs and mask → (B) masked sums; DPO and the reward-model pair losses use sums (DPO eq. 7).</summary>
    public static Tensor Sum(Tensor tokenLogProbs, Tensor mask) =>
        (tokenLogProbs * mask.to_type(tokenLogProbs.dtype)).sum(-1);

    /// <summary>(B, T) → (B) length-normalised log-probs (masked mean per row), e.g. for IPO-style or SimPO-style averages.</summary>
    public static Tensor Mean(Tensor tokenLogProbs, Tensor mask) => MaskedStatistics.Mean(tokenLogProbs, mask, -1);
}
