using static TorchSharp.torch;

namespace MiniLlmPipeline.Tests.Alignment;

/// <summary>Compares tensors with hand-computed numbers to a fixed number of decimals, or with fp32 results to bf16 rounding.</summary>
internal static class TensorAssert
{
    /// <summary>Passes when |expected − actual| &lt; 10^−precision.</summary>
    public static void Close(double expected, Tensor actual, int precision = 5) => Close([expected], actual, precision);

    public static void Close(double[] expected, Tensor actual, int precision = 5)
    {
        var values = actual.to_type(ScalarType.Float64).cpu().data<double>().ToArray();
        Assert.Equal(expected.Length, values.Length);
        for (var i = 0; i < expected.Length; i++)
            Assert.True(Math.Abs(expected[i] - values[i]) < Math.Pow(10, -precision),
                $"element {i}: expected {expected[i]}, got {values[i]} (all: [{string.Join(", ", values)}])");
    }

    /// <summary>
    /// Each fp32 gradient of the fused output layers against its bf16-product twin: bf16 keeps 8 significant bits, so each
    /// is within ~1 % of the gradient's scale, but not equal to it (equal would mean the bf16 path never ran).
    /// </summary>
    public static void WithinBf16Rounding(params (Tensor Exact, Tensor Rounded)[] gradients)
    {
        foreach (var (exact, rounded) in gradients)
        {
            Assert.Equal(ScalarType.Float32, rounded.dtype);
            var relative = (exact - rounded).norm().item<float>() / exact.norm().item<float>();
            Assert.InRange(relative, 1e-5, 1e-2);
        }
    }

    /// <summary>
    /// A fused output layer under a frozen output weight (as LoRA freezes the tied embedding): the hidden states get the
    /// unfused layer's gradient and the weight none. Each function maps (hidden (2, 3, 4), weight (5, 4), targets (2, 3))
    /// to a scalar loss.
    /// </summary>
    public static void FrozenOutputWeight(Func<Tensor, Tensor, Tensor, Tensor> unfused, Func<Tensor, Tensor, Tensor, Tensor> fused)
    {
        TorchSharp.torch.manual_seed(8);
        var hiddenValues = randn(2, 3, 4);
        var weight = randn(5, 4);
        var targets = randint(5, [2, 3]);
        var (hidden, fusedHidden) = (hiddenValues.clone().requires_grad_(), hiddenValues.clone().requires_grad_());
        unfused(hidden, weight, targets).backward();
        fused(fusedHidden, weight, targets).backward();
        Assert.True(hidden.grad!.allclose(fusedHidden.grad!, rtol: 1e-5, atol: 1e-6), "∂L/∂hidden differs");
        Assert.Null(weight.grad);
    }
}
