using MiniLlmPipeline.Generation;
using TorchSharp;

namespace MiniLlmPipeline.Tests.Generation;

/// <summary>The host sampler keeps exactly the tokens the torch sampler keeps, and draws them in proportion.</summary>
public class CpuSamplerTests
{
    [Theory]
    [InlineData(1.0, 0, 0.9)]
    [InlineData(0.7, 0, 0.9)]
    [InlineData(1.3, 20, 1.0)]
    [InlineData(0.7, 50, 0.5)]
    [InlineData(2.0, 0, 0.999)] // a flat distribution: the nucleus reaches below the candidate floor
    public void KeptTokens_EqualTheTorchSamplersFilter(double temperature, int topK, double topP)
    {
        var settings = new SamplingSettings { Temperature = temperature, TopK = topK, TopP = topP };
        var generator = new torch.Generator(5);
        for (var trial = 0; trial < 5; trial++)
        {
            using var scope = torch.NewDisposeScope();
            var logits = torch.randn([1, 4096], generator: generator) * (1 + 2 * trial);
            var expected = Sampler.Filter(logits / temperature, topK, topP).squeeze(0).isfinite().nonzero().squeeze(-1)
                .data<long>().Select(i => (int)i).Order().ToArray();
            var kept = new CpuSampler(settings, seed: 1).Keep(logits.squeeze(0).data<float>().ToArray()).ToArray();
            // Equal, but for the token at the nucleus boundary when torch's float32 cumulative sum over thousands of
            // near-equal probabilities rounds across p where the host's float64 sum does not.
            var differing = expected.Except(kept).Count() + kept.Except(expected).Count();
            Assert.True(differing <= 2, $"{differing} tokens differ ({expected.Length} kept by torch, {kept.Length} here)");
            if (expected.Length < 1000) Assert.Equal(expected, kept.Order().ToArray());
        }
    }

    [Fact]
    public void Draws_FollowTheRenormalisedProbabilities()
    {
        // p ∝ (0.5, 0.25, 0.15, 0.07, 0.03); top-p 0.85 keeps the first three: 0.5/0.9, 0.25/0.9, 0.15/0.9.
        float[] logits = [.. new[] { 0.5, 0.25, 0.15, 0.07, 0.03 }.Select(p => (float)Math.Log(p))];
        var sampler = new CpuSampler(new SamplingSettings { Temperature = 1, TopP = 0.85 }, seed: 11);
        var counts = new int[logits.Length];
        const int draws = 30_000;
        for (var i = 0; i < draws; i++) counts[sampler.Next(logits)]++;
        Assert.Equal(0, counts[3] + counts[4]);
        Assert.InRange(counts[0] / (double)draws, 0.5 / 0.9 - 0.015, 0.5 / 0.9 + 0.015);
        Assert.InRange(counts[1] / (double)draws, 0.25 / 0.9 - 0.015, 0.25 / 0.9 + 0.015);
        Assert.InRange(counts[2] / (double)draws, 0.15 / 0.9 - 0.015, 0.15 / 0.9 + 0.015);
    }

    [Fact]
    public void Greedy_IsTheArgmax_AndSeedsRepeat()
    {
        float[] logits = [0.1f, 3f, -1f, 2.9f];
        Assert.Equal(1, new CpuSampler(new SamplingSettings { Greedy = true }, seed: 0).Next(logits));
        var settings = new SamplingSettings { Temperature = 1 };
        var first = new CpuSampler(settings, seed: 4);
        var second = new CpuSampler(settings, seed: 4);
        Assert.Equal(Enumerable.Range(0, 50).Select(_ => first.Next(logits)), Enumerable.Range(0, 50).Select(_ => second.Next(logits)));
    }

    [Fact]
    public void Penalties_AndMinP_MatchTheTorchSampler()
    {
        // Token 0 leads by 0.5 and was generated once: presence 1 → 3 − 1 = 2 < 2.5, so greedy picks token 1.
        float[] logits = [3f, 2.5f, 0f, -1f];
        int[] previous = [0, 3, 3];
        var presence = new SamplingSettings { Greedy = true, PresencePenalty = 1 };
        Assert.Equal(1, new CpuSampler(presence, seed: 0).Next(logits, previous));
        Assert.Equal(0, new CpuSampler(presence, seed: 0).Next(logits)); // nothing generated yet: no penalty

        // Against Sampler.Penalize on the same counts: repetition 1.3, frequency 0.4, presence 0.2.
        using var scope = torch.NewDisposeScope();
        var settings = new SamplingSettings { Greedy = true, RepetitionPenalty = 1.3, FrequencyPenalty = 0.4, PresencePenalty = 0.2 };
        var counts = Sampler.TokenCounts(torch.tensor(previous.Select(t => (long)t).ToArray(), [1, previous.Length]), logits.Length);
        var expected = Sampler.Penalize(torch.tensor(logits, [1, logits.Length]), counts, 1.3, 0.4, 0.2).squeeze(0).data<float>().ToArray();
        var tokenAfter = new CpuSampler(settings, seed: 0).Next(logits, previous);
        Assert.Equal(Array.IndexOf(expected, expected.Max()), tokenAfter);

        // Min-p 0.5 on p = (0.6, 0.35, 0.05): the floor 0.3 keeps tokens 0 and 1, as the torch filter does.
        float[] peaked = [.. new[] { 0.6, 0.35, 0.05 }.Select(p => (float)Math.Log(p))];
        var minP = new SamplingSettings { Temperature = 1, MinP = 0.5 };
        var kept = Sampler.Filter(torch.tensor(peaked, [1, 3]), 0, 1.0, 0.5).squeeze(0).isfinite().nonzero().squeeze(-1).data<long>().Select(i => (int)i);
        Assert.Equal(kept.Order(), new CpuSampler(minP, seed: 0).Keep(peaked).ToArray().Order());
        Assert.Equal([0, 1], new CpuSampler(minP with { TopP = 0.99 }, seed: 0).Keep(peaked).ToArray().Order());
    }

    [Theory]
    [InlineData(1.0, 0.9)]
    [InlineData(0.7, 1.0)]
    public void LargeLogits_KeepTheirTokens(double temperature, double topP)
    {
        // exp(100 / 0.7) overflows float32: the softmax must be taken relative to the largest logit.
        var logits = new float[4096];
        (logits[7], logits[9]) = (100f, 99f);
        var kept = new CpuSampler(new SamplingSettings { Temperature = temperature, TopP = topP }, seed: 1).Keep(logits).ToArray();
        Assert.Contains(7, kept);
        Assert.DoesNotContain(0, kept);
    }
}
