using MiniLlmPipeline.Model;
using TorchSharp;
using static TorchSharp.torch;

namespace MiniLlmPipeline.Tests.Model;

/// <summary>A recomputed SwiGLU block gives the output and every gradient of the one that keeps its intermediates.</summary>
public class ActivationCheckpointTests
{
    [Fact]
    public void ACheckpointedMlp_HasThePlainMlpsOutputAndGradients()
    {
        torch.manual_seed(5);
        using var plain = new SwiGluMlp(8, 12);
        using var recomputed = new SwiGluMlp(8, 12) { Checkpointed = true };
        recomputed.load_state_dict(plain.state_dict());
        plain.train();
        recomputed.train();
        var input = randn(2, 3, 8);
        var upstream = randn(2, 3, 8);

        var (x1, x2) = (input.clone().requires_grad_(), input.clone().requires_grad_());
        var y1 = plain.call(x1);
        y1.backward([upstream]);
        var y2 = recomputed.call(x2);
        y2.backward([upstream]);

        Assert.True(y1.allclose(y2), "outputs differ");
        Assert.True(x1.grad!.allclose(x2.grad!, rtol: 1e-5, atol: 1e-6), "input gradients differ");
        foreach (var ((name, p1), (_, p2)) in plain.named_parameters().Zip(recomputed.named_parameters()))
        {
            Assert.NotNull(p2.grad);
            Assert.True(p1.grad!.allclose(p2.grad!, rtol: 1e-5, atol: 1e-6), $"{name}'s gradient differs");
        }
    }

    [Fact]
    public void WithGradients_TheFunctionRunsAgainInTheBackwardPass()
    {
        var calls = 0;
        var x = tensor(new float[] { 1, 2, 3 }).requires_grad_();
        var y = ActivationCheckpoint.Apply(v => { calls++; return v * v; }, x);
        Assert.Equal(1, calls);
        y.sum().backward();
        Assert.Equal(2, calls); // recomputed, not kept
        Assert.Equal(new float[] { 2, 4, 6 }, x.grad!.data<float>().ToArray()); // d(x²)/dx = 2x
    }

    [Fact]
    public void AnInputWithoutGradient_StillGivesTheParametersInsideTheirs()
    {
        // The first block of a LoRA model: the embedding is frozen, so its input needs no gradient, but the block's
        // own (adapter) parameters do.
        var weight = tensor(new float[] { 3 }).requires_grad_();
        var y = ActivationCheckpoint.Apply(v => v * weight, tensor(new float[] { 1, 2 }));
        y.sum().backward();
        Assert.Equal(3, weight.grad!.item<float>()); // Σ x = 1 + 2
    }

    [Fact]
    public void WithoutGradients_TheFunctionIsCalledOnce()
    {
        var calls = 0;
        using var noGrad = torch.no_grad();
        var y = ActivationCheckpoint.Apply(x => { calls++; return x * 2; }, ones(3));
        Assert.Equal(1, calls);
        Assert.Equal(6, y.sum().item<float>());
    }
}
