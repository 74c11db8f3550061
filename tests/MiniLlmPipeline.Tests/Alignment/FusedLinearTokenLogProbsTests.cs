using MiniLlmPipeline.Alignment;
using TorchSharp;
using static TorchSharp.torch;

namespace MiniLlmPipeline.Tests.Alignment;

/// <summary>The chunked output layer + per-token log-probs against hand-computed values and against the unfused layer.</summary>
public class FusedLinearTokenLogProbsTests
{
    private static readonly float Ln3 = MathF.Log(3);

    [Fact]
    public void WithTheIdentityAsWeight_TheyAreTheLogSoftmaxOfTheHiddenStates_AtTheTemperature()
    {
        // Logits [ln 3, 0]: p(0) = 3/4, p(1) = 1/4. At τ = 2 the logits are [ln 3 / 2, 0]: p(0) = √3 / (√3 + 1) = 0.633975.
        using var hidden = tensor(new float[] { Ln3, 0, Ln3, 0 }, 1, 2, 2);
        using var targets = tensor(new long[] { 0, 1 }, 1, 2);
        TensorAssert.Close([MathF.Log(0.75f), MathF.Log(0.25f)], FusedLinearTokenLogProbs.Compute(hidden, eye(2), targets));
        TensorAssert.Close([MathF.Log(0.633975f), MathF.Log(1 - 0.633975f)],
            FusedLinearTokenLogProbs.Compute(hidden, eye(2), targets, temperature: 2, logitsPerChunk: 1)); // a row per chunk
    }

    [Theory]
    [InlineData(1.0, 3 * 7)]   // 3 rows a chunk: four chunks, the last one partial
    [InlineData(0.7, 3 * 7)]
    [InlineData(0.7, 1 << 21)] // one chunk
    public void LogProbsAndGradients_MatchTheUnfusedLayer_UnderAnyUpstreamGradient(double temperature, long logitsPerChunk)
    {
        torch.manual_seed(7);
        var (b, t, c, v) = (2, 5, 3, 7);
        var hiddenValues = randn(b, t, c) * 2;
        var weightValues = randn(v, c);
        var targets = randint(v, [b, t]);
        // What an RL loss sends back into each token's log-prob: signed, per token, zero on masked positions.
        var upstream = randn(b, t) * tensor(new float[] { 1, 1, 0, 1, 0, 0, 1, 1, 1, 0 }, b, t);

        var (hidden, weight) = (hiddenValues.clone().requires_grad_(), weightValues.clone().requires_grad_());
        var expected = TokenLogProbs.Of(nn.functional.linear(hidden, weight) / temperature, targets);
        (expected * upstream).sum().backward();
        var (fusedHidden, fusedWeight) = (hiddenValues.clone().requires_grad_(), weightValues.clone().requires_grad_());
        var fused = FusedLinearTokenLogProbs.Compute(fusedHidden, fusedWeight, targets, temperature, logitsPerChunk: logitsPerChunk);
        (fused * upstream).sum().backward();

        Assert.True(expected.allclose(fused, rtol: 1e-5, atol: 1e-6), "log-probs differ");
        Assert.True(hidden.grad!.allclose(fusedHidden.grad!, rtol: 1e-5, atol: 1e-6), "∂L/∂hidden differs");
        Assert.True(weight.grad!.allclose(fusedWeight.grad!, rtol: 1e-5, atol: 1e-6), "∂L/∂weight differs");
        using (torch.no_grad())
            Assert.True(expected.allclose(FusedLinearTokenLogProbs.Compute(hiddenValues, weightValues, targets, temperature, logitsPerChunk: logitsPerChunk),
                rtol: 1e-5, atol: 1e-6), "the no-gradient path differs");
    }

    [Fact]
    public void Bf16GradientProducts_KeepTheFp32LogProbs_AndGradientsWithinBf16Rounding()
    {
        torch.manual_seed(9);
        var (b, t, c, v) = (2, 16, 32, 64);
        var hiddenValues = randn(b, t, c);
        var weightValues = randn(v, c) * 0.2;
        var targets = randint(v, [b, t]);
        var upstream = randn(b, t);
        var (hidden, weight) = (hiddenValues.clone().requires_grad_(), weightValues.clone().requires_grad_());
        var fp32 = FusedLinearTokenLogProbs.Compute(hidden, weight, targets, 0.7, logitsPerChunk: 8 * v);
        (fp32 * upstream).sum().backward();
        var (lowHidden, lowWeight) = (hiddenValues.clone().requires_grad_(), weightValues.clone().requires_grad_());
        var bf16 = FusedLinearTokenLogProbs.Compute(lowHidden, lowWeight, targets, 0.7, ScalarType.BFloat16, logitsPerChunk: 8 * v);
        (bf16 * upstream).sum().backward();

        Assert.True(fp32.eq(bf16).all().item<bool>(), "the logits, and so the log-probs, are fp32 either way");
        TensorAssert.WithinBf16Rounding((hidden.grad!, lowHidden.grad!), (weight.grad!, lowWeight.grad!));
    }

    [Fact]
    public void AFrozenWeight_GetsNoGradient_AndTheHiddenStatesStillGetTheirs() =>
        TensorAssert.FrozenOutputWeight(
            (hidden, weight, targets) => TokenLogProbs.Of(nn.functional.linear(hidden, weight), targets).sum(),
            (hidden, weight, targets) => FusedLinearTokenLogProbs.Compute(hidden, weight, targets, logitsPerChunk: 5 * 2).sum());

    [Fact]
    public void BadShapesAndTemperatures_AreRefused()
    {
        var error = Assert.Throws<ArgumentException>(() => FusedLinearTokenLogProbs.Compute(zeros(1, 3, 2), zeros(4, 5), zeros(1, 3, dtype: int64)));
        Assert.Contains("[4,5]", error.Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => FusedLinearTokenLogProbs.Compute(zeros(1, 3, 2), zeros(4, 2), zeros(1, 3, dtype: int64), temperature: 0));
    }
}
