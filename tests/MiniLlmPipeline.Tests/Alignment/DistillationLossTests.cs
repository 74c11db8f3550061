using MiniLlmPipeline.Alignment;
using static TorchSharp.torch;

namespace MiniLlmPipeline.Tests.Alignment;

/// <summary>Hinton et al.'s distillation loss on one- and two-token examples over a three-token vocabulary, by hand.</summary>
public sealed class DistillationLossTests
{
    // The teacher's logits [ln 4, 0, 0] against a student that knows nothing (logits [0, 0, 0]: q uniform, 1/3 each).
    private static Tensor Teacher() => tensor(new[] { (float)Math.Log(4), 0f, 0f }, 1, 1, 3);
    private static Tensor UniformStudent(bool requiresGrad = false) => zeros(1, 1, 3).requires_grad_(requiresGrad);
    private static Tensor Target(long token = 0) => tensor(new[] { token }, 1, 1);

    [Fact]
    public void Kl_AtTemperatureOne_IsTheKlOfTheTeachersDistribution()
    {
        // τ = 1: p = softmax([ln 4, 0, 0]) = [4, 1, 1]/6 = [2/3, 1/6, 1/6].
        // KL(p ‖ q) = 2/3 ln((2/3)/(1/3)) + 2 · 1/6 ln((1/6)/(1/3)) = 2/3 ln 2 − 1/3 ln 2 = ln 2 / 3.
        var (loss, kl, _) = DistillationLoss.Compute(UniformStudent(), Teacher(), Target(), mask: null, temperature: 1, alpha: 1);
        TensorAssert.Close(Math.Log(2) / 3, kl);
        TensorAssert.Close(Math.Log(2) / 3, loss);
    }

    [Fact]
    public void Kl_AtTemperatureTwo_SoftensTheTeacher_AndTheLossScalesItByTauSquared()
    {
        // τ = 2: p = softmax([ln 4, 0, 0] / 2) = softmax([ln 2, 0, 0]) = [2, 1, 1]/4 = [1/2, 1/4, 1/4]; q stays uniform.
        // KL = 1/2 ln(3/2) + 2 · 1/4 ln(3/4) = 1/2 ln(9/8); the loss at α = 1 is τ² · KL = 4 · 1/2 ln(9/8) = 2 ln(9/8).
        var (loss, kl, _) = DistillationLoss.Compute(UniformStudent(), Teacher(), Target(), mask: null, temperature: 2, alpha: 1);
        TensorAssert.Close(0.5 * Math.Log(9.0 / 8), kl);
        TensorAssert.Close(2 * Math.Log(9.0 / 8), loss);
    }

    [Fact]
    public void MixedAlpha_WeighsTheSoftAndHardTerms()
    {
        // α = 0.25, τ = 2: 0.25 · 4 · 1/2 ln(9/8) + 0.75 · CE, where CE of target 0 under the uniform student is ln 3.
        var (loss, _, crossEntropy) = DistillationLoss.Compute(UniformStudent(), Teacher(), Target(), mask: null, temperature: 2, alpha: 0.25);
        TensorAssert.Close(Math.Log(3), crossEntropy);
        TensorAssert.Close(0.5 * Math.Log(9.0 / 8) + 0.75 * Math.Log(3), loss);
    }

    [Fact]
    public void AlphaZero_IsExactlyTheNextTokenCrossEntropy()
    {
        manual_seed(5);
        var student = randn(2, 4, 7);
        var teacher = randn(2, 4, 7) * 3;
        var targets = randint(0, 7, [2, 4]);
        var mask = tensor(new float[] { 1, 1, 0, 0, 0, 1, 1, 1 }, 2, 4);
        foreach (var m in new[] { null, mask })
        {
            var (loss, _, _) = DistillationLoss.Compute(student, teacher, targets, m, temperature: 3, alpha: 0);
            Assert.Equal(NextTokenCrossEntropy.Compute(student, targets, m).item<float>(), loss.item<float>());
        }
    }

    [Fact]
    public void AlphaOne_WithTheStudentEqualToTheTeacher_IsZero()
    {
        manual_seed(6);
        var logits = randn(2, 3, 11) * 4;
        var (loss, kl, _) = DistillationLoss.Compute(logits.clone(), logits, randint(0, 11, [2, 3]), mask: null, temperature: 2, alpha: 1);
        Assert.Equal(0f, loss.item<float>());
        Assert.Equal(0f, kl.item<float>());
    }

    [Fact]
    public void MaskedTokens_ChangeNothing()
    {
        // Token 1 of the row is masked: a wildly different teacher and target there leave the one-token values above.
        var student = zeros(1, 2, 3);
        var teacher = tensor(new[] { (float)Math.Log(4), 0f, 0f, -50f, 80f, 3f }, 1, 2, 3);
        var targets = tensor(new long[] { 0, 2 }, 1, 2);
        var mask = tensor(new float[] { 1, 0 }, 1, 2);
        var (loss, kl, crossEntropy) = DistillationLoss.Compute(student, teacher, targets, mask, temperature: 2, alpha: 0.25);
        TensorAssert.Close(0.5 * Math.Log(9.0 / 8), kl);
        TensorAssert.Close(Math.Log(3), crossEntropy);
        TensorAssert.Close(0.5 * Math.Log(9.0 / 8) + 0.75 * Math.Log(3), loss);
    }

    [Fact]
    public void SoftGradient_IsTauTimesQMinusP_SoTauSquaredKeepsItsScale()
    {
        // ∂KL(p ‖ q)/∂z_s = (q − p)/τ, so ∂(τ² KL)/∂z_s = τ (q − p). τ = 2: q = [1/3]·3, p = [1/2, 1/4, 1/4]
        // → 2 · [1/3 − 1/2, 1/3 − 1/4, 1/3 − 1/4] = [−1/3, 1/6, 1/6]. The teacher gets no gradient.
        var student = UniformStudent(requiresGrad: true);
        var teacher = Teacher().requires_grad_(true);
        var (loss, _, _) = DistillationLoss.Compute(student, teacher, Target(), mask: null, temperature: 2, alpha: 1);
        loss.backward();
        TensorAssert.Close([-1.0 / 3, 1.0 / 6, 1.0 / 6], student.grad!);
        Assert.Null(teacher.grad);
    }

    [Theory]
    [InlineData(0, 0.5)]
    [InlineData(-1, 0.5)]
    [InlineData(double.PositiveInfinity, 0.5)]
    [InlineData(double.NaN, 0.5)]
    [InlineData(2, -0.1)]
    [InlineData(2, 1.5)]
    [InlineData(2, double.NaN)]
    public void OutOfRangeTemperatureOrAlpha_IsRejected(double temperature, double alpha)
    {
        Assert.Throws<ArgumentOutOfRangeException>(() =>
            DistillationLoss.Compute(UniformStudent(), Teacher(), Target(), mask: null, temperature, alpha));
    }
}
