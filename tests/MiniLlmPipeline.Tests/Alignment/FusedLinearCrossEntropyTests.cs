using MiniLlmPipeline.Alignment;
using TorchSharp;
using static TorchSharp.torch;

namespace MiniLlmPipeline.Tests.Alignment;

/// <summary>The chunked output layer + cross-entropy against a hand-computed value and against the unfused layer.</summary>
public class FusedLinearCrossEntropyTests
{
    private static readonly float Ln3 = MathF.Log(3);

    [Fact]
    public void WithTheIdentityAsWeight_ItIsTheCrossEntropyOfTheHiddenStates()
    {
        // Logits [0, 0] → target 0: ln 2 = 0.693147; [ln 3, 0] → target 0: −ln 0.75 = 0.287682; mean 0.490415.
        using var hidden = tensor(new float[] { 0, 0, Ln3, 0 }, 1, 2, 2);
        using var targets = tensor(new long[] { 0, 0 }, 1, 2);
        TensorAssert.Close(0.490415, FusedLinearCrossEntropy.Compute(hidden, eye(2), targets));
        TensorAssert.Close(0.490415, FusedLinearCrossEntropy.Compute(hidden, eye(2), targets, logitsPerChunk: 1)); // a row per chunk
        // Masked to the second token only: 0.287682.
        TensorAssert.Close(0.287682, FusedLinearCrossEntropy.Compute(hidden, eye(2), targets, tensor(new float[] { 0, 1 }, 1, 2)));
    }

    [Theory]
    [InlineData(false, 3 * 7)]  // 3 rows a chunk: four chunks, the last one partial
    [InlineData(true, 3 * 7)]
    [InlineData(true, 1 << 21)] // one chunk
    public void LossAndGradients_MatchTheUnfusedLayer(bool masked, long logitsPerChunk)
    {
        torch.manual_seed(7);
        var (b, t, c, v) = (2, 5, 3, 7);
        var hiddenValues = randn(b, t, c) * 2;
        var weightValues = randn(v, c);
        var targets = randint(v, [b, t]);
        var mask = masked ? tensor(new float[] { 1, 1, 0, 1, 0, 0, 1, 1, 1, 0 }, b, t) : null;

        var (hidden, weight) = (hiddenValues.clone().requires_grad_(), weightValues.clone().requires_grad_());
        var expected = NextTokenCrossEntropy.Compute(nn.functional.linear(hidden, weight), targets, mask);
        (expected * 0.5).backward(); // a scaled loss, as micro-batch averaging scales it
        var (fusedHidden, fusedWeight) = (hiddenValues.clone().requires_grad_(), weightValues.clone().requires_grad_());
        var fused = FusedLinearCrossEntropy.Compute(fusedHidden, fusedWeight, targets, mask, logitsPerChunk);
        (fused * 0.5).backward();

        TensorAssert.Close(expected.item<float>(), fused);
        Assert.True(hidden.grad!.allclose(fusedHidden.grad!, rtol: 1e-5, atol: 1e-6), "∂L/∂hidden differs");
        Assert.True(weight.grad!.allclose(fusedWeight.grad!, rtol: 1e-5, atol: 1e-6), "∂L/∂weight differs");
        using (torch.no_grad())
            TensorAssert.Close(expected.item<float>(), FusedLinearCrossEntropy.Compute(hiddenValues, weightValues, targets, mask, logitsPerChunk));
    }

    [Fact]
    public void Bf16GradientProducts_KeepTheFp32Loss_AndGradientsWithinBf16Rounding()
    {
        torch.manual_seed(9);
        var (b, t, c, v) = (2, 16, 32, 64);
        var hiddenValues = randn(b, t, c);
        var weightValues = randn(v, c) * 0.2;
        var targets = randint(v, [b, t]);
        var (hidden, weight) = (hiddenValues.clone().requires_grad_(), weightValues.clone().requires_grad_());
        var fp32 = FusedLinearCrossEntropy.Compute(hidden, weight, targets, logitsPerChunk: 8 * v);
        fp32.backward();
        var (lowHidden, lowWeight) = (hiddenValues.clone().requires_grad_(), weightValues.clone().requires_grad_());
        var bf16 = FusedLinearCrossEntropy.Compute(lowHidden, lowWeight, targets, logitsPerChunk: 8 * v, gradientDtype: ScalarType.BFloat16);
        bf16.backward();

        Assert.Equal(fp32.item<float>(), bf16.item<float>()); // the logits, and so the loss, are fp32 either way
        TensorAssert.WithinBf16Rounding((hidden.grad!, lowHidden.grad!), (weight.grad!, lowWeight.grad!));
    }

    [Fact]
    public void AFrozenWeight_GetsNoGradient_AndTheHiddenStatesStillGetTheirs() =>
        TensorAssert.FrozenOutputWeight(
            (hidden, weight, targets) => NextTokenCrossEntropy.Compute(nn.functional.linear(hidden, weight), targets),
            (hidden, weight, targets) => FusedLinearCrossEntropy.Compute(hidden, weight, targets, logitsPerChunk: 5 * 2));

    [Fact]
    public void AnEmptyMask_GivesZeroLossAndZeroGradients()
    {
        var hidden = randn(1, 3, 2).requires_grad_();
        var weight = randn(4, 2).requires_grad_();
        var loss = FusedLinearCrossEntropy.Compute(hidden, weight, tensor(new long[] { 1, 2, 3 }, 1, 3), zeros(1, 3));
        loss.backward();
        TensorAssert.Close(0, loss);
        Assert.Equal(0, hidden.grad!.abs().sum().item<float>());
        Assert.Equal(0, weight.grad!.abs().sum().item<float>());
    }

    [Fact]
    public void MismatchedShapes_AreRefusedWithTheShapes()
    {
        var error = Assert.Throws<ArgumentException>(() => FusedLinearCrossEntropy.Compute(zeros(1, 3, 2), zeros(4, 5), zeros(1, 3, dtype: int64)));
        Assert.Contains("[4,5]", error.Message);
    }
}
