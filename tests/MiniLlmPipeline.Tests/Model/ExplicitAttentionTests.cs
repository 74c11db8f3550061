using MiniLlmPipeline.Model;
using TorchSharp;
using static TorchSharp.torch;

namespace MiniLlmPipeline.Tests.Model;

/// <summary>
/// The written-out attention of short contexts (<see cref="CausalSelfAttention.ExplicitScoresMaxKeys"/>) against the
/// SDPA kernel it replaces there, on keys and values repeated per query head: outputs and all three gradients.
/// </summary>
public class ExplicitAttentionTests
{
    private const int Batch = 3, Heads = 4, KvHeads = 2, Length = 7, HeadDim = 8;

    [Theory]
    [InlineData(false, ScalarType.Float32, 1e-5)]
    [InlineData(true, ScalarType.Float32, 1e-5)]
    [InlineData(false, ScalarType.BFloat16, 0.05)]
    [InlineData(true, ScalarType.BFloat16, 0.05)]
    public void OutputAndGradients_MatchTheSdpaKernel(bool padded, ScalarType dtype, double tolerance)
    {
        using var scope = NewDisposeScope();
        manual_seed(11);
        using var attention = new CausalSelfAttention(new GptConfig(32, Heads * HeadDim, 1, Heads, KvHeads, 64, 16, 10000));
        var q0 = randn(Batch, Heads, Length, HeadDim);
        var k0 = randn(Batch, KvHeads, Length, HeadDim);
        var v0 = randn(Batch, KvHeads, Length, HeadDim);
        var upstream = randn(Batch, Heads, Length, HeadDim);
        // Left padding as the stages build it: keys before a sequence's start are hidden, a position always sees itself.
        Tensor? mask = null;
        if (padded)
        {
            var keyMask = ones(Batch, Length, dtype: @bool);
            keyMask[0, TensorIndex.Slice(0, 3)] = false;
            keyMask[2, TensorIndex.Slice(0, 1)] = false;
            var causal = arange(Length).unsqueeze(0) <= arange(Length).unsqueeze(1);              // (T, S)
            mask = causal & keyMask.unsqueeze(1).unsqueeze(1) | eye(Length, dtype: @bool);         // (B, 1, T, S)
        }

        var (explicitOut, explicitGrads) = Run(q0, k0, v0, upstream, dtype,
            (q, k, v) => attention.ExplicitAttention(q, k, v, mask, isCausal: mask is null));
        var (kernelOut, kernelGrads) = Run(q0, k0, v0, upstream, dtype, (q, k, v) =>
            nn.functional.scaled_dot_product_attention(q, k.repeat_interleave(Heads / KvHeads, dim: 1),
                v.repeat_interleave(Heads / KvHeads, dim: 1), mask, 0, is_casual: mask is null));

        Assert.True(explicitOut.allclose(kernelOut, rtol: 0, atol: tolerance), $"outputs differ by {(explicitOut - kernelOut).abs().max().item<float>()}");
        foreach (var (name, a, b) in new[] { ("q", explicitGrads[0], kernelGrads[0]), ("k", explicitGrads[1], kernelGrads[1]), ("v", explicitGrads[2], kernelGrads[2]) })
            Assert.True(a.allclose(b, rtol: 0, atol: tolerance), $"∂/∂{name} differs by {(a - b).abs().max().item<float>()}");
    }

    private static (Tensor Output, Tensor[] Gradients) Run(Tensor q0, Tensor k0, Tensor v0, Tensor upstream, ScalarType dtype,
        Func<Tensor, Tensor, Tensor, Tensor> attend)
    {
        var inputs = new[] { q0, k0, v0 }.Select(t => t.to(dtype).requires_grad_()).ToArray();
        var output = attend(inputs[0], inputs[1], inputs[2]);
        output.backward([upstream.to(dtype)]);
        return (output.detach().to(float32), inputs.Select(t => t.grad!.to(float32)).ToArray());
    }
}
