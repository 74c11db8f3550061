using MiniLlmPipeline.Model;
using TorchSharp;
using static TorchSharp.torch;

namespace MiniLlmPipeline.Tests.Model;

[Collection(GlobalGeneratorTests.Name)]
public class ConcatenatedProjectionTests
{
    /// <summary>
    /// The one-matmul q/k/v (and gate/up) path against each layer on its own: the same outputs side by side, and each
    /// separate weight receives the gradient its own layer would have.
    /// </summary>
    [Fact]
    public void ForwardConcatenated_EqualsEachLayerAlone_InOutputAndWeightGradients()
    {
        using var scope = NewDisposeScope();
        manual_seed(5);
        var layers = new[] { 8, 4, 4 }.Select(outFeatures => new MixedPrecisionLinear(16, outFeatures, ScalarType.Float32)).ToArray();
        foreach (var layer in layers)
            using (no_grad()) layer.Weight.normal_(0, 0.2);
        var x = randn(2, 3, 16);
        var upstream = randn(2, 3, 16);

        var fused = MixedPrecisionLinear.ForwardConcatenated(x, layers);
        (fused * upstream).sum().backward();
        var fusedGradients = layers.Select(layer => layer.Weight.grad!.clone()).ToList();
        foreach (var layer in layers) layer.Weight.grad = null;

        var separate = cat(layers.Select(layer => layer.forward(x)).ToList(), -1);
        (separate * upstream).sum().backward();

        Assert.Equal(new long[] { 2, 3, 16 }, fused.shape);
        Assert.True(fused.allclose(separate, rtol: 0, atol: 1e-5), "outputs differ");
        for (var i = 0; i < layers.Length; i++)
        {
            Assert.Equal(layers[i].Weight.shape, fusedGradients[i].shape);
            Assert.True(fusedGradients[i].allclose(layers[i].Weight.grad!, rtol: 0, atol: 1e-5), $"layer {i}: weight gradients differ");
            Assert.True(fusedGradients[i].abs().sum().item<float>() > 0, $"layer {i}: no gradient");
        }
    }
}
