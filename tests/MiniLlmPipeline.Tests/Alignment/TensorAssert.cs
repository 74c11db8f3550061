using static TorchSharp.torch;

namespace MiniLlmPipeline.Tests.Alignment;

/// <summary>Compares tensors with hand-computed numbers to a fixed number of decimals.</summary>
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
}
