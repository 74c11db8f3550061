using MiniLlmPipeline.Alignment;
using TorchSharp;
using static TorchSharp.torch;

namespace MiniLlmPipeline.Tests.Alignment;

public class LogProbTests
{
    private static readonly float Ln3 = MathF.Log(3);

    [Fact]
    public void TokenLogProbs_AreLogSoftmaxOfTheTargets()
    {
        // Position 0: logits [0, 0, 0, 0] → p = 1/4 for any token: ln 0.25 = −1.386294.
        // Position 1: logits [0, ln 3, 0, 0] → p(1) = 3/6 = 0.5: ln 0.5 = −0.693147.
        // Position 2: same logits, target 2 → p = 1/6: ln(1/6) = −1.791759.
        using var logits = tensor(new float[] { 0, 0, 0, 0, 0, Ln3, 0, 0, 0, Ln3, 0, 0 }, 1, 3, 4);
        using var targets = tensor(new long[] { 3, 1, 2 }, 1, 3);
        using var logProbs = TokenLogProbs.Of(logits, targets);
        Assert.Equal(new long[] { 1, 3 }, logProbs.shape);
        TensorAssert.Close([-1.386294, -0.693147, -1.791759], logProbs);
    }

    [Fact]
    public void TokenLogProbs_MatchLogSoftmaxGather_InValueAndGradient()
    {
        var generator = new torch.Generator(5);
        using var logits = randn(2, 5, 11, generator: generator).mul(3).requires_grad_(true);
        using var targets = randint(0, 11, [2, 5], generator: generator);
        using var reference = logits.log_softmax(-1).gather(-1, targets.unsqueeze(-1)).squeeze(-1);
        using var ours = TokenLogProbs.Of(logits, targets);
        Assert.True(ours.allclose(reference, rtol: 1e-5, atol: 1e-5));

        using var referenceGrad = torch.autograd.grad([reference.sum()], [logits])[0];
        using var oursGrad = torch.autograd.grad([ours.sum()], [logits])[0];
        Assert.True(oursGrad.allclose(referenceGrad, rtol: 1e-5, atol: 1e-5));
    }

    [Fact]
    public void TokenLogProbs_UpcastsHalfPrecisionLogitsToFloat32()
    {
        using var logits = tensor(new float[] { 0, 0, 0, 0 }, 1, 1, 4).to_type(ScalarType.BFloat16);
        using var logProbs = TokenLogProbs.Of(logits, tensor(new long[] { 0 }, 1, 1));
        Assert.Equal(ScalarType.Float32, logProbs.dtype);
        TensorAssert.Close(-1.386294, logProbs);
    }

    [Fact]
    public void SequenceLogProbs_SumAndMeanOnlyTheMaskedTokens()
    {
        // Row 0: mask [0,1,1] → sum −2 + −3 = −5, mean −2.5. Row 1: mask [1,1,0] → sum −1, mean −0.5 (the −9 is padding).
        using var tokenLogProbs = tensor(new float[] { -1, -2, -3, -0.5f, -0.5f, -9 }, 2, 3);
        using var mask = tensor(new float[] { 0, 1, 1, 1, 1, 0 }, 2, 3);
        TensorAssert.Close([-5, -1], SequenceLogProbs.Sum(tokenLogProbs, mask));
        TensorAssert.Close([-2.5, -0.5], SequenceLogProbs.Mean(tokenLogProbs, mask));
    }

    [Fact]
    public void NextTokenCrossEntropy_WithoutMask_IsTheMeanOrSumOverEveryToken()
    {
        // Logits [0, 0] with target 0 (p = 0.5): NLL ln 2 = 0.693147; logits [ln 3, 0] with target 0 (p = 0.75): 0.287682.
        using var logits = tensor(new float[] { 0, 0, Ln3, 0 }, 1, 2, 2);
        using var targets = tensor(new long[] { 0, 0 }, 1, 2);
        TensorAssert.Close(0.490415, NextTokenCrossEntropy.Compute(logits, targets));
        TensorAssert.Close(0.980829, NextTokenCrossEntropy.Compute(logits, targets, reduction: nn.Reduction.Sum));
        Assert.Throws<ArgumentException>(() => NextTokenCrossEntropy.Compute(logits, targets, ones(1, 2), nn.Reduction.Sum));
    }

    [Fact]
    public void NextTokenCrossEntropy_Masked_IsTheTokenWeightedMeanNll()
    {
        // Row 0 (3 real tokens, logits [0,0] each, p = 0.5): NLL ln 2 each.
        // Row 1 (1 real token, logits [0, ln 3], target 1, p = 0.75): NLL −ln 0.75 = 0.287682; 2 padded positions.
        // Token-weighted: (3·0.693147 + 0.287682) / 4 = 2.367123 / 4 = 0.591781 (a mean of row means would be 0.490415).
        using var logits = tensor(new float[] { 0, 0, 0, 0, 0, 0, 0, Ln3, 5, -5, 5, -5 }, 2, 3, 2);
        using var targets = tensor(new long[] { 0, 1, 0, 1, 1, 1 }, 2, 3);
        using var mask = tensor(new float[] { 1, 1, 1, 1, 0, 0 }, 2, 3);
        TensorAssert.Close(0.591781, NextTokenCrossEntropy.Compute(logits, targets, mask));
    }

    [Fact]
    public void NextTokenCrossEntropy_Masked_IgnoresPaddedLogits()
    {
        using var targets = tensor(new long[] { 0, 1, 1 }, 1, 3);
        using var mask = tensor(new float[] { 1, 1, 0 }, 1, 3);
        using var logits = tensor(new float[] { 0, 0, 0, Ln3, 0, 0 }, 1, 3, 2);
        using var changedPadding = tensor(new float[] { 0, 0, 0, Ln3, 40, -40 }, 1, 3, 2);
        // (ln 2 + −ln 0.75) / 2 = (0.693147 + 0.287682) / 2 = 0.490415 either way.
        TensorAssert.Close(0.490415, NextTokenCrossEntropy.Compute(logits, targets, mask));
        TensorAssert.Close(0.490415, NextTokenCrossEntropy.Compute(changedPadding, targets, mask));
    }

    [Fact]
    public void NextTokenCrossEntropy_Masked_GradientIsZeroOnPadding()
    {
        using var logits = tensor(new float[] { 0, 0, 1, 2 }, 1, 2, 2).requires_grad_(true);
        using var loss = NextTokenCrossEntropy.Compute(logits, tensor(new long[] { 0, 0 }, 1, 2), tensor(new float[] { 1, 0 }, 1, 2));
        loss.backward();
        // d(−log softmax_0)/dz = p − onehot = [0.5 − 1, 0.5] on the real token; the padded token gets nothing.
        TensorAssert.Close([-0.5, 0.5, 0, 0], logits.grad!);
    }

    [Fact]
    public void NextTokenCrossEntropy_Masked_IsZeroWhenNothingIsSelected()
    {
        using var logits = tensor(new float[] { 0, 0 }, 1, 1, 2);
        TensorAssert.Close(0, NextTokenCrossEntropy.Compute(logits, tensor(new long[] { 0 }, 1, 1), zeros(1, 1)));
    }
}
