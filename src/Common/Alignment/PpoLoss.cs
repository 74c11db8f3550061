using static TorchSharp.torch;

namespace MiniLlmPipeline.Alignment;

/// <summary>
/// Proximal Policy Optimization losses over per-token (B, T) tensors, averaged over the real tokens of the mask
/// (TRL's PPO trainer). Entropy is logged separately with <see cref="Entropy"/>.
/// </summary>
public static class PpoLoss
{
    /// <summary>
    /// Clipped surrogate (Schulman et al. 2017, eq. 7), as a loss to minimise:
    /// L = mean_t max(−Â_t ρ_t, −Â_t clip(ρ_t, 1−ε, 1+ε)) with ρ_t = π_new/π_old = exp(log π_new − log π_old).
    /// Taking the max of the negatives is the paper's min of the objectives: the pessimistic bound, so a step never
    /// profits from moving ρ beyond [1−ε, 1+ε] in the direction the advantage rewards.
    /// </summary>
    public static PolicyLossResult Policy(Tensor newLogProbs, Tensor oldLogProbs, Tensor advantages, Tensor mask, double clipRange)
    {
        using var scope = NewDisposeScope();
        var logRatio = newLogProbs - oldLogProbs.detach();
        var ratio = logRatio.exp();
        var a = advantages.detach();
        var unclipped = -a * ratio;
        var clipped = -a * ratio.clamp(1 - clipRange, 1 + clipRange);
        var loss = MaskedStatistics.Mean(maximum(unclipped, clipped), mask);
        var clipFraction = MaskedStatistics.Mean((clipped > unclipped).to_type(ratio.dtype), mask).detach();
        var approxKl = MaskedStatistics.Mean(logRatio.detach().square(), mask) * 0.5;
        return new PolicyLossResult(
            loss.MoveToOuterDisposeScope(), clipFraction.MoveToOuterDisposeScope(), approxKl.MoveToOuterDisposeScope());
    }

    /// <summary>
    /// Clipped value loss (the PPO2 baselines / TRL form): ½·mean_t max((V_t − R_t)², (clip(V_t, V_old−ε, V_old+ε) − R_t)²),
    /// which keeps the value head from moving further than ε from its rollout-time prediction in one update.
    /// </summary>
    public static ValueLossResult Value(Tensor newValues, Tensor oldValues, Tensor returns, Tensor mask, double clipRange)
    {
        using var scope = NewDisposeScope();
        var old = oldValues.detach();
        var target = returns.detach();
        var clippedValues = newValues.clamp(old - clipRange, old + clipRange);
        var unclippedLoss = (newValues - target).square();
        var clippedLoss = (clippedValues - target).square();
        var loss = MaskedStatistics.Mean(maximum(unclippedLoss, clippedLoss), mask) * 0.5;
        var clipFraction = MaskedStatistics.Mean((clippedLoss > unclippedLoss).to_type(newValues.dtype), mask).detach();
        return new ValueLossResult(loss.MoveToOuterDisposeScope(), clipFraction.MoveToOuterDisposeScope());
    }
}
