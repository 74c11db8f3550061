using MiniLlmPipeline.Alignment;
using TorchSharp;
using static TorchSharp.torch;

namespace MiniLlmPipeline.Tests.Alignment;

public class PreferenceLossTests
{
    [Fact]
    public void BradleyTerry_MatchesHandComputedLossAccuracyAndMargin()
    {
        // Margins r_c − r_r = [2, −1, 0].
        // −log σ(2) = ln(1 + e^−2) = 0.126928; −log σ(−1) = ln(1 + e) = 1.313262; −log σ(0) = ln 2 = 0.693147.
        // Mean = 2.133337 / 3 = 0.711112. Accuracy: only the first pair has r_c > r_r → 1/3. Margin mean (2 − 1 + 0)/3 = 1/3.
        using var chosen = tensor(new float[] { 2, 0, 1 });
        using var rejected = tensor(new float[] { 0, 1, 1 });
        var result = BradleyTerryLoss.Compute(chosen, rejected);
        TensorAssert.Close(0.711112, result.Loss);
        TensorAssert.Close(1.0 / 3, result.Accuracy);
        TensorAssert.Close(1.0 / 3, result.Margin);
    }

    [Fact]
    public void BradleyTerry_StaysFiniteForHugeMargins()
    {
        // −log σ(−200) = 200 (up to e^−200); a naive log(sigmoid) would give +∞.
        var result = BradleyTerryLoss.Compute(tensor(new float[] { -100 }), tensor(new float[] { 100 }));
        TensorAssert.Close(200, result.Loss, 3);
    }

    [Theory]
    [InlineData(0.1)]
    [InlineData(5.0)]
    public void DpoLoss_IsLog2_WhenPolicyEqualsReference(double beta)
    {
        // h = 0 → −log σ(0) = ln 2 = 0.693147 for any β; implicit rewards are 0.
        using var chosen = tensor(new float[] { -12.5f, -3 });
        using var rejected = tensor(new float[] { -20, -4 });
        var result = DpoLoss.Compute(chosen, rejected, chosen.clone(), rejected.clone(), beta);
        TensorAssert.Close([0.693147, 0.693147], result.Losses);
        TensorAssert.Close(0.693147, result.Loss);
        TensorAssert.Close([0, 0], result.ChosenRewards);
        TensorAssert.Close(0, result.RewardMargin);
        TensorAssert.Close(0, result.RewardAccuracy);
    }

    [Fact]
    public void DpoLoss_WithLabelSmoothing_MatchesCdpo()
    {
        // π_c = −1, π_r = −3, ref_c = ref_r = −2: h = (−1 + 2) − (−3 + 2) = 2; β = 0.5 → βh = 1; ε = 0.1.
        // Loss = 0.9·ln(1 + e^−1) + 0.1·ln(1 + e^1) = 0.9·0.313262 + 0.1·1.313262 = 0.281936 + 0.131326 = 0.413262.
        // Rewards: chosen 0.5·1 = 0.5, rejected 0.5·(−1) = −0.5, margin 1, accuracy 1.
        var result = DpoLoss.Compute(
            tensor(new float[] { -1 }), tensor(new float[] { -3 }), tensor(new float[] { -2 }), tensor(new float[] { -2 }),
            beta: 0.5, labelSmoothing: 0.1);
        TensorAssert.Close(0.413262, result.Loss);
        TensorAssert.Close([0.5], result.ChosenRewards);
        TensorAssert.Close([-0.5], result.RejectedRewards);
        TensorAssert.Close(1, result.RewardMargin);
        TensorAssert.Close(1, result.RewardAccuracy);
    }

    [Fact]
    public void DpoLoss_Ipo_RegressesTheGapToOneOverTwoBeta()
    {
        // Same pair, h = 2. β = 1: (2 − 1/2)² = 2.25. β = 0.25: (2 − 2)² = 0.
        using var pc = tensor(new float[] { -1 });
        using var pr = tensor(new float[] { -3 });
        using var rc = tensor(new float[] { -2 });
        using var rr = tensor(new float[] { -2 });
        TensorAssert.Close(2.25, DpoLoss.Compute(pc, pr, rc, rr, beta: 1, lossType: DpoLoss.Ipo).Loss);
        TensorAssert.Close(0, DpoLoss.Compute(pc, pr, rc, rr, beta: 0.25, lossType: DpoLoss.Ipo).Loss);
    }

    [Fact]
    public void DpoLoss_GradientFlowsOnlyIntoThePolicy()
    {
        using var policyChosen = tensor(new float[] { -5 }).requires_grad_(true);
        using var policyRejected = tensor(new float[] { -6 }).requires_grad_(true);
        using var referenceChosen = tensor(new float[] { -5 }).requires_grad_(true);
        using var referenceRejected = tensor(new float[] { -6 }).requires_grad_(true);
        var result = DpoLoss.Compute(policyChosen, policyRejected, referenceChosen, referenceRejected, beta: 0.1);
        result.Loss.backward();
        // h = 0: dL/dπ_c = −β σ(−βh) = −0.1 · 0.5 = −0.05, dL/dπ_r = +0.05.
        TensorAssert.Close([-0.05], policyChosen.grad!);
        TensorAssert.Close([0.05], policyRejected.grad!);
        Assert.Null(referenceChosen.grad);
        Assert.Null(referenceRejected.grad);
        Assert.False(result.ChosenRewards.requires_grad);
    }

    [Fact]
    public void DpoLoss_RejectsAnUnknownLossType()
    {
        using var x = tensor(new float[] { -1 });
        Assert.Throws<ArgumentException>(() => DpoLoss.Compute(x, x, x, x, 0.1, lossType: "hinge"));
    }
}
