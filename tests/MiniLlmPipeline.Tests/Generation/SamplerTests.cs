using MiniLlmPipeline.Generation;
using TorchSharp;
using static TorchSharp.torch;

namespace MiniLlmPipeline.Tests.Generation;

public class SamplerTests
{
    [Fact]
    public void Greedy_PicksTheArgmaxOfEachRow()
    {
        using var scope = NewDisposeScope();
        var logits = tensor(new float[] { 0.1f, 2, -1, 5, 0, 4.9f }).reshape(2, 3);
        var picked = Sampler.Sample(logits, new SamplingSettings { Greedy = true });
        Assert.Equal(new long[] { 1, 0 }, picked.data<long>().ToArray());
        var zeroTemperature = Sampler.Sample(logits, new SamplingSettings { Temperature = 0 });
        Assert.Equal(new long[] { 1, 0 }, zeroTemperature.data<long>().ToArray());
    }

    [Fact]
    public void TopKOfOne_SamplesLikeGreedy()
    {
        using var scope = NewDisposeScope();
        var rng = new torch.Generator(5);
        var logits = randn(new long[] { 64, 10 }, generator: rng);
        var sampled = Sampler.Sample(logits, new SamplingSettings { TopK = 1, Temperature = 2 }, rng);
        Assert.True(sampled.eq(logits.argmax(-1)).all().item<bool>());
    }

    [Fact]
    public void TopP_KeepsTheSmallestNucleusReachingP()
    {
        using var scope = NewDisposeScope();
        // probabilities 0.15, 0.5, 0.05, 0.3: ranked 0.5, 0.3 (mass before: 0.5 < 0.7, keep), 0.15 (0.8 ≥ 0.7, drop)
        var logits = tensor(new[] { 0.15, 0.5, 0.05, 0.3 }.Select(p => (float)Math.Log(p)).ToArray()).reshape(1, 4);
        var kept = Sampler.Filter(logits, topK: 0, topP: 0.7).isfinite().data<bool>().ToArray();
        Assert.Equal(new[] { false, true, false, true }, kept);
        var onlyTop = Sampler.Filter(logits, topK: 0, topP: 0.4).isfinite().data<bool>().ToArray();
        Assert.Equal(new[] { false, true, false, false }, onlyTop);
    }

    [Fact]
    public void TopK_KeepsTheKLargestLogits()
    {
        using var scope = NewDisposeScope();
        var logits = tensor(new float[] { 3, 1, 4, 1.5f, 5 }).reshape(1, 5);
        var kept = Sampler.Filter(logits, topK: 2, topP: 1).isfinite().data<bool>().ToArray();
        Assert.Equal(new[] { false, false, true, false, true }, kept);
    }

    [Fact]
    public void Sampling_IsReproducible_WithTheSameGeneratorSeed()
    {
        using var scope = NewDisposeScope();
        var logits = zeros(8, 100);
        var settings = new SamplingSettings { Temperature = 1, TopP = 0.9 };
        var first = Sampler.Sample(logits, settings, new torch.Generator(42));
        var second = Sampler.Sample(logits, settings, new torch.Generator(42));
        Assert.True(first.eq(second).all().item<bool>());
    }
}
