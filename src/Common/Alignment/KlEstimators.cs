using static TorchSharp.torch;

namespace MiniLlmPipeline.Alignment;

/// <summary>
/// Per-token Monte-Carlo estimators of KL(π ‖ π_ref) from tokens sampled from π (Schulman, "Approximating KL
/// Divergence", 2020). With log r = log π(y_t) − log π_ref(y_t) (Schulman's ratio p/q is π_ref/π = r⁻¹):
/// <list type="bullet">
/// <item>k1 = log r — unbiased, high variance, can be negative per token (the InstructGPT / TRL KL penalty).</item>
/// <item>k3 = (r⁻¹ − 1) + log r — unbiased and always ≥ 0 (since log x ≤ x − 1).</item>
/// </list>
/// All are elementwise on (B, T) tensors; mask and average them with <see cref="MaskedStatistics"/>.
/// </summary>
public static class KlEstimators
{
    public static Tensor K1(Tensor logProbs, Tensor refLogProbs) => logProbs - refLogProbs;

    /// <summary>k3: the KL estimator in GRPO's loss (Shao et al. 2024, DeepSeekMath), kept for the GRPO stage that uses it next.</summary>
    public static Tensor K3(Tensor logProbs, Tensor refLogProbs)
    {
        using var scope = NewDisposeScope();
        var logRatio = logProbs - refLogProbs;
        return ((-logRatio).exp() - 1 + logRatio).MoveToOuterDisposeScope();
    }
}
