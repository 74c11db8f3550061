using static TorchSharp.torch;

namespace MiniLlmPipeline.Alignment;

/// <summary>
/// The GRPO objective (Shao et al. 2024, DeepSeekMath eq. 3) as a loss to minimise, over (B, R) per-token tensors of
/// answer tokens:
/// per token  ℓ_t = −( min(ρ_t Â, clip(ρ_t, 1−ε, 1+ε) Â) − β·k3_t ),   ρ_t = π_θ(o_t) / π_old(o_t),
/// k3_t = π_ref(o_t)/π_θ(o_t) − log(π_ref(o_t)/π_θ(o_t)) − 1  (DeepSeekMath eq. 4; Schulman 2020's unbiased, ≥ 0 estimator),
/// then averaged as the paper does (<see cref="GrpoLossType.Grpo"/>: (1/G) Σ_i (1/|o_i|) Σ_t ℓ_t, each answer's tokens
/// averaged first) or as Dr. GRPO does (<see cref="GrpoLossType.DrGrpo"/>: Σ_i Σ_t ℓ_t / (G · max_new_tokens), a constant
/// normaliser, so a long wrong answer is not penalised less per token than a short one — Liu et al. 2025 §3.1).
/// The KL is a loss term against the frozen reference, not a reward penalty as in PPO.
/// </summary>
public static class GrpoLoss
{
    /// <param name="advantages">(B) one advantage per answer (<see cref="GroupAdvantages"/>).</param>
    /// <param name="maxNewTokens">Dr. GRPO's constant normaliser (the generation budget).</param>
    public static GrpoLossResult Compute(Tensor newLogProbs, Tensor oldLogProbs, Tensor refLogProbs, Tensor advantages, Tensor mask,
        double clipRange, double beta, GrpoLossType type, int maxNewTokens)
    {
        using var scope = NewDisposeScope();
        var ratio = (newLogProbs - oldLogProbs.detach()).exp();
        var a = advantages.detach().unsqueeze(1);                                      // (B, 1)
        var unclipped = ratio * a;
        var clipped = ratio.clamp(1 - clipRange, 1 + clipRange) * a;
        var surrogate = minimum(unclipped, clipped);
        var kl = KlEstimators.K3(newLogProbs, refLogProbs.detach());
        var perToken = -(surrogate - beta * kl);                                        // (B, R)
        var m = mask.to_type(perToken.dtype);
        var loss = type == GrpoLossType.Grpo
            ? ((perToken * m).sum(1) / m.sum(1).clamp_min(1.0)).mean()
            : (perToken * m).sum() / (perToken.shape[0] * (double)maxNewTokens);
        var clipFraction = MaskedStatistics.Mean((clipped < unclipped).to_type(ratio.dtype), mask).detach();
        return new GrpoLossResult(loss.MoveToOuterDisposeScope(), MaskedStatistics.Mean(kl.detach(), mask).MoveToOuterDisposeScope(),
            clipFraction.MoveToOuterDisposeScope());
    }
}

/// <summary>How <see cref="GrpoLoss"/> averages per-token losses (spec key <c>loss_type</c>: <c>grpo</c> or <c>dr_grpo</c>).</summary>
public enum GrpoLossType { Grpo, DrGrpo }

/// <summary>The GRPO loss, the mean per-token k3 KL to the reference, and the share of tokens whose ratio was clipped.</summary>
public sealed record GrpoLossResult(Tensor Loss, Tensor Kl, Tensor ClipFraction);
