using MiniLlmPipeline.Alignment;
using TorchSharp;
using static TorchSharp.torch;

namespace MiniLlmPipeline.Tests.Alignment;

public class PpoMathTests
{
    [Fact]
    public void Gae_MatchesHandComputedValues_WithEpisodeEndsAndPadding()
    {
        // γ = 0.9, λ = 0.5 (γλ = 0.45). Row 0 has 3 real tokens; row 1 has 2 and a padded slot holding garbage.
        // Row 0: r = [0, 0, 1], V = [0.5, 0.4, 0.3], V after the end = 0.
        //   t=2: δ = 1 + 0 − 0.3 = 0.7;            A = 0.7
        //   t=1: δ = 0 + 0.9·0.3 − 0.4 = −0.13;    A = −0.13 + 0.45·0.7 = 0.185
        //   t=0: δ = 0 + 0.9·0.4 − 0.5 = −0.14;    A = −0.14 + 0.45·0.185 = −0.05675
        //   returns A + V = [0.44325, 0.585, 1.0]
        // Row 1: r = [0, 2, (5)], V = [1.0, 0.5, (9)]; the episode ends after t=1.
        //   t=2: padding → A = 0, return 0
        //   t=1: δ = 2 + 0 − 0.5 = 1.5;            A = 1.5
        //   t=0: δ = 0 + 0.9·0.5 − 1.0 = −0.55;    A = −0.55 + 0.45·1.5 = 0.125
        //   returns = [1.125, 2.0, 0]
        using var rewards = tensor(new float[] { 0, 0, 1, 0, 2, 5 }, 2, 3);
        using var values = tensor(new float[] { 0.5f, 0.4f, 0.3f, 1.0f, 0.5f, 9 }, 2, 3);
        using var mask = tensor(new float[] { 1, 1, 1, 1, 1, 0 }, 2, 3);
        var estimate = GeneralizedAdvantageEstimate.Compute(rewards, values, mask, gamma: 0.9, lambda: 0.5);
        TensorAssert.Close([-0.05675, 0.185, 0.7, 0.125, 1.5, 0], estimate.Advantages);
        TensorAssert.Close([0.44325, 0.585, 1.0, 1.125, 2.0, 0], estimate.Returns);
    }

    [Fact]
    public void Gae_WithGammaAndLambdaOne_IsRewardToGoMinusValue()
    {
        // γ = λ = 1: A_t = Σ_{k≥t} r_k − V_t. r = [1, 2, 3], V = [1, 1, 1] → A = [5, 4, 2].
        var estimate = GeneralizedAdvantageEstimate.Compute(
            tensor(new float[] { 1, 2, 3 }, 1, 3), ones(1, 3), ones(1, 3), gamma: 1, lambda: 1);
        TensorAssert.Close([5, 4, 2], estimate.Advantages);
        TensorAssert.Close([6, 5, 3], estimate.Returns);
    }

    [Fact]
    public void Gae_AcceptsABoolMask()
    {
        // r = [0, 1, (4)], V = [0.5, 0.5, (4)], γ = λ = 1: A_1 = 1 − 0.5 = 0.5, A_0 = 0 + 0.5 − 0.5 + 0.5 = 0.5.
        var estimate = GeneralizedAdvantageEstimate.Compute(
            tensor(new float[] { 0, 1, 4 }, 1, 3), tensor(new float[] { 0.5f, 0.5f, 4 }, 1, 3),
            tensor(new[] { true, true, false }, 1, 3), gamma: 1, lambda: 1);
        TensorAssert.Close([0.5, 0.5, 0], estimate.Advantages);
    }

    [Fact]
    public void Whitening_GivesZeroMeanUnitStd_OverTheMaskOnly()
    {
        // Real values [1, 2, 3]: mean 2, unbiased variance (1 + 0 + 1)/2 = 1 → [−1, 0, 1]; the padded 100 is ignored and zeroed.
        using var values = tensor(new float[] { 1, 2, 3, 100 }, 1, 4);
        using var mask = tensor(new float[] { 1, 1, 1, 0 }, 1, 4);
        TensorAssert.Close([-1, 0, 1, 0], Whitening.Masked(values, mask), 4);
    }

    [Fact]
    public void Whitening_RejectsAMaskWithFewerThanTwoTokens()
    {
        Assert.Throws<ArgumentException>(() => Whitening.Masked(tensor(new float[] { 1, 2 }), tensor(new float[] { 1, 0 })));
    }

    [Fact]
    public void PolicyLoss_ClipsInBothDirections_AndIgnoresPadding()
    {
        // ε = 0.2, old log-probs 0, so ρ = exp(new). Per token: max(−Aρ, −A·clip(ρ, 0.8, 1.2)):
        //   A=+1, ρ=1.5: max(−1.5, −1.2) = −1.2   (clipped: no extra credit above 1+ε)
        //   A=−1, ρ=0.5: max( 0.5,  0.8) =  0.8   (clipped: no extra credit below 1−ε)
        //   A=+2, ρ=0.5: max(−1.0, −1.6) = −1.0   (unclipped: the pessimistic term)
        //   A=−1, ρ=1.5: max( 1.5,  1.2) =  1.5   (unclipped)
        //   padding (A=100, ρ=3): ignored
        // Loss = (−1.2 + 0.8 − 1.0 + 1.5)/4 = 0.025; clip fraction 2/4 = 0.5.
        // Approx KL = ½·(2·ln²1.5 + 2·ln²0.5)/4 = ½·(0.328804 + 0.960906)/4 = 0.161214.
        using var newLogProbs = tensor(new[] { MathF.Log(1.5f), MathF.Log(0.5f), MathF.Log(0.5f), MathF.Log(1.5f), MathF.Log(3) }, 1, 5)
            .requires_grad_(true);
        using var oldLogProbs = zeros(1, 5);
        using var advantages = tensor(new float[] { 1, -1, 2, -1, 100 }, 1, 5);
        using var mask = tensor(new float[] { 1, 1, 1, 1, 0 }, 1, 5);
        var result = PpoLoss.Policy(newLogProbs, oldLogProbs, advantages, mask, clipRange: 0.2);
        TensorAssert.Close(0.025, result.Loss);
        TensorAssert.Close(0.5, result.ClipFraction);
        TensorAssert.Close(0.161214, result.ApproxKl);

        result.Loss.backward();
        // Clipped tokens give no gradient; unclipped ones d(−Aρ)/d log π = −Aρ, over 4 tokens: −2·0.5/4 = −0.25, 1·1.5/4 = 0.375.
        TensorAssert.Close([0, 0, -0.25, 0.375, 0], newLogProbs.grad!);
    }

    [Fact]
    public void ValueLoss_UsesTheLargerOfClippedAndUnclippedError()
    {
        // ε = 0.2. Per token max((V − R)², (clip(V, V_old ± 0.2) − R)²):
        //   V_old=1, V=1.5, R=2: clip → 1.2; max(0.25, 0.64) = 0.64 (clipped term active)
        //   V_old=1, V=1.5, R=1: clip → 1.2; max(0.25, 0.04) = 0.25
        //   V_old=0, V=0.1, R=1: inside the range; 0.81
        //   padding: ignored
        // Loss = ½·(0.64 + 0.25 + 0.81)/3 = 0.283333; clip fraction 1/3.
        using var newValues = tensor(new float[] { 1.5f, 1.5f, 0.1f, 50 }, 1, 4);
        using var oldValues = tensor(new float[] { 1, 1, 0, 0 }, 1, 4);
        using var returns = tensor(new float[] { 2, 1, 1, -50 }, 1, 4);
        using var mask = tensor(new float[] { 1, 1, 1, 0 }, 1, 4);
        var result = PpoLoss.Value(newValues, oldValues, returns, mask, clipRange: 0.2);
        TensorAssert.Close(0.283333, result.Loss);
        TensorAssert.Close(1.0 / 3, result.ClipFraction);
    }

    [Fact]
    public void KlEstimators_MatchHandComputedValues()
    {
        // log π = ln 0.5, log π_ref = ln 0.25 → log r = ln 2: k1 = 0.693147, k3 = (½ − 1) + ln 2 = 0.193147.
        // Reversed → log r = −ln 2: k1 = −0.693147, k3 = (2 − 1) − ln 2 = 0.306853.
        using var logProbs = tensor(new[] { MathF.Log(0.5f), MathF.Log(0.25f) });
        using var refLogProbs = tensor(new[] { MathF.Log(0.25f), MathF.Log(0.5f) });
        TensorAssert.Close([0.693147, -0.693147], KlEstimators.K1(logProbs, refLogProbs));
        TensorAssert.Close([0.193147, 0.306853], KlEstimators.K3(logProbs, refLogProbs));
    }

    [Fact]
    public void KlEstimators_K1AndK3AreUnbiasedForKlOfPolicyFromReference()
    {
        // π = [0.5, 0.5], π_ref = [0.25, 0.75]: KL(π‖π_ref) = ½ ln 2 + ½ ln(2/3) = 0.143841.
        // The expectation under π (the sampling distribution) of k1 and k3 equals it exactly.
        using var policy = tensor(new float[] { 0.5f, 0.5f });
        using var reference = tensor(new float[] { 0.25f, 0.75f });
        TensorAssert.Close(0.143841, (policy * KlEstimators.K1(policy.log(), reference.log())).sum());
        TensorAssert.Close(0.143841, (policy * KlEstimators.K3(policy.log(), reference.log())).sum());
    }

    [Fact]
    public void RewardShaping_PenalisesKlPerToken_AndAddsTheScoreOnTheLastRealToken()
    {
        // klCoef 0.1, log π − log π_ref: row 0 [0.5, −1, 2], row 1 [1, 1, (7 padding)]; scores [3, −2].
        // Row 0: [−0.05, 0.1, −0.2 + 3] = [−0.05, 0.1, 2.8]. Row 1: [−0.1, −0.1 − 2, 0] = [−0.1, −2.1, 0].
        using var logProbs = tensor(new float[] { 0.5f, -1, 2, 1, 1, 7 }, 2, 3);
        using var refLogProbs = zeros(2, 3);
        using var mask = tensor(new float[] { 1, 1, 1, 1, 1, 0 }, 2, 3);
        using var rewards = RewardShaping.PerToken(tensor(new float[] { 3, -2 }), logProbs, refLogProbs, mask, klCoef: 0.1);
        TensorAssert.Close([-0.05, 0.1, 2.8, -0.1, -2.1, 0], rewards);
    }

    [Fact]
    public void RewardShaping_RejectsARowWithoutResponseTokens()
    {
        Assert.Throws<ArgumentException>(() =>
            RewardShaping.PerToken(tensor(new float[] { 1 }), zeros(1, 2), zeros(1, 2), zeros(1, 2), 0.1));
    }

    [Fact]
    public void AdaptiveKlController_FollowsZieglerUpdate()
    {
        // β = 0.1, target 6, horizon 10000.
        // KL 9: error 9/6 − 1 = 0.5 → clipped 0.2; β ← 0.1·(1 + 0.2·256/10000) = 0.1·1.00512 = 0.100512.
        // KL 5.4: error 0.9 − 1 = −0.1; β ← 0.100512·(1 − 0.1·1000/10000) = 0.100512·0.99 = 0.09950688.
        var controller = new AdaptiveKlController(0.1, target: 6, horizon: 10000);
        controller.Update(9, 256);
        Assert.Equal(0.100512, controller.Value, 9);
        controller.Update(5.4, 1000);
        Assert.Equal(0.09950688, controller.Value, 9);
    }

    [Fact]
    public void KlController_WithTargetZero_IsFixed()
    {
        var controller = IKlController.Create(0.05, target: 0);
        controller.Update(100, 10000);
        Assert.IsType<FixedKlController>(controller);
        Assert.Equal(0.05, controller.Value);
        Assert.IsType<AdaptiveKlController>(IKlController.Create(0.05, target: 6));
    }

    [Fact]
    public void Entropy_IsTheMaskedMeanOverRealTokens()
    {
        // Token 0: uniform over 4 → ln 4 = 1.386294. Token 1: uniform over 2 (others −1e4 ≈ 0 probability) → ln 2 = 0.693147.
        // Token 2 is padding. Mean = (1.386294 + 0.693147)/2 = 1.039721.
        using var logits = tensor(new float[] { 0, 0, 0, 0, 0, 0, -1e4f, -1e4f, 10, 0, 0, 0 }, 1, 3, 4);
        using var mask = tensor(new float[] { 1, 1, 0 }, 1, 3);
        TensorAssert.Close(1.039721, Entropy.FromLogits(logits, mask));
    }
}
