using MiniLlmPipeline.Alignment;
using TorchSharp;
using static TorchSharp.torch;

namespace MiniLlmPipeline.Tests.Alignment;

public class GrpoMathTests
{
    [Fact]
    public void GroupAdvantages_OfAKnownGroup_AreCentredAndScaledByTheUnbiasedStd()
    {
        // Group [1, 2, 3, 6]: mean 3, centred [−2, −1, 0, 3], unbiased std √(14/3) = 2.160247; + ε 1e-4 → 2.160347.
        var scaled = GroupAdvantages.Compute(tensor(new float[] { 1, 2, 3, 6 }), groupSize: 4, scale: true);
        TensorAssert.Close([-2 / 2.160347, -1 / 2.160347, 0, 3 / 2.160347], scaled, precision: 4);
        // Dr. GRPO: the centred rewards alone.
        TensorAssert.Close([-2, -1, 0, 3], GroupAdvantages.Compute(tensor(new float[] { 1, 2, 3, 6 }), groupSize: 4, scale: false));
    }

    [Fact]
    public void GroupAdvantages_AreRelativeToEachGroupAlone_AndZeroForAZeroVarianceGroup()
    {
        // Groups of 2: [5, 5] has no spread (advantage 0, no division blow-up); [0, 1] → ±0.5 / (0.707107 + 1e-4).
        foreach (var scale in new[] { true, false })
        {
            var advantages = GroupAdvantages.Compute(tensor(new float[] { 5, 5, 0, 1 }), groupSize: 2, scale);
            var half = scale ? 0.5 / (Math.Sqrt(0.5) + 1e-4) : 0.5;
            TensorAssert.Close([0, 0, -half, half], advantages, precision: 5);
        }
    }

    [Fact]
    public void GroupAdvantages_RejectAGroupOfOneOrARaggedBatch()
    {
        Assert.Throws<ArgumentException>(() => GroupAdvantages.Compute(tensor(new float[] { 1, 2 }), groupSize: 1, scale: true));
        Assert.Throws<ArgumentException>(() => GroupAdvantages.Compute(tensor(new float[] { 1, 2, 3 }), groupSize: 2, scale: true));
    }

    [Fact]
    public void Loss_AtRatioOne_AndTheReference_IsMinusTheTokenMeanAdvantage_PerAnswer()
    {
        // Row 0: 2 answer tokens, Â = 2; row 1: 1 token (the second is padding), Â = −1. π = π_old = π_ref: ρ = 1, k3 = 0.
        // GRPO: mean over answers of (−Σ_t Â / |o|) = (−2 + 1) / 2 = −0.5.
        // Dr. GRPO: −Σ_i Σ_t Â / (G · max_new_tokens) = −(2 + 2 − 1) / (2 · 4) = −0.375.
        var logProbs = tensor(new float[] { -1, -2, -0.5f, -3 }, 2, 2).requires_grad_();
        var mask = tensor(new[] { true, true, true, false }, 2, 2);
        var advantages = tensor(new float[] { 2, -1 });
        var grpo = GrpoLoss.Compute(logProbs, logProbs.detach(), logProbs.detach(), advantages, mask, 0.2, beta: 0.1, GrpoLossType.Grpo, 4);
        TensorAssert.Close(-0.5, grpo.Loss);
        TensorAssert.Close(0, grpo.Kl);
        TensorAssert.Close(0, grpo.ClipFraction);
        // At ρ = 1 the gradient is the policy gradient −Â/|o| per token; padding gets none.
        grpo.Loss.backward();
        TensorAssert.Close([-0.5, -0.5, 0.5, 0], logProbs.grad!);
        var dr = GrpoLoss.Compute(logProbs, logProbs.detach(), logProbs.detach(), advantages, mask, 0.2, beta: 0.1, GrpoLossType.DrGrpo, 4);
        TensorAssert.Close(-0.375, dr.Loss);
    }

    [Theory]
    // ρ = 1.5, clip 0.2: a positive advantage gains no more than ρ = 1.2 allows (clipped); a negative one pays the full 1.5.
    [InlineData(1.5, 1.0, -1.2, 1.0)]
    [InlineData(1.5, -1.0, 1.5, 0.0)]
    // ρ = 0.5: a negative advantage is credited only down to 0.8 (clipped); a positive one loses the full 0.5.
    [InlineData(0.5, -1.0, 0.8, 1.0)]
    [InlineData(0.5, 1.0, -0.5, 0.0)]
    public void Loss_BeyondTheClip_IsThePessimisticBound(double ratio, double advantage, double expectedLoss, double expectedClipFraction)
    {
        var old = tensor(new float[] { -1.0f }, 1, 1);
        var updated = old + (float)Math.Log(ratio);
        var result = GrpoLoss.Compute(updated, old, updated, tensor(new[] { (float)advantage }), ones(1, 1, dtype: ScalarType.Bool),
            0.2, beta: 0.0, GrpoLossType.Grpo, 1);
        TensorAssert.Close(expectedLoss, result.Loss);
        TensorAssert.Close(expectedClipFraction, result.ClipFraction);
    }

    [Fact]
    public void Loss_KlTerm_IsBetaTimesK3_AndZeroAtTheReference()
    {
        // π = 0.5, π_ref = 0.25: k3 = π_ref/π − log(π_ref/π) − 1 = 0.5 + ln 2 − 1 = 0.1931472. With Â = 0, loss = β·k3.
        var policy = tensor(new float[] { (float)Math.Log(0.5) }, 1, 1);
        var reference = tensor(new float[] { (float)Math.Log(0.25) }, 1, 1);
        var mask = ones(1, 1, dtype: ScalarType.Bool);
        var result = GrpoLoss.Compute(policy, policy, reference, zeros(1), mask, 0.2, beta: 0.1, GrpoLossType.Grpo, 1);
        TensorAssert.Close(0.1931472, result.Kl);
        TensorAssert.Close(0.01931472, result.Loss);
        TensorAssert.Close(0, GrpoLoss.Compute(policy, policy, policy, zeros(1), mask, 0.2, beta: 0.1, GrpoLossType.Grpo, 1).Kl);
    }
}
