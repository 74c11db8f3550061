using MiniLlmPipeline.Generation;
using static TorchSharp.torch;

namespace MiniLlmPipeline.Tests.Generation;

/// <summary>The penalties and min-p against values computed by hand.</summary>
public class PenaltyAndMinPTests
{
    private static float[] Row(Tensor t) => t.data<float>().ToArray();

    [Fact]
    public void TokenCounts_CountEachGeneratedToken()
    {
        using var scope = NewDisposeScope();
        var counts = Sampler.TokenCounts(tensor(new long[] { 2, 0, 2, 1, 1, 1 }).reshape(2, 3), vocab: 4);
        Assert.Equal(new float[] { 1, 0, 2, 0, 0, 3, 0, 0 }, Row(counts.flatten()));
    }

    [Fact]
    public void RepetitionPenalty_DividesAPositiveRepeatedLogit_AndMultipliesANegativeOne()
    {
        using var scope = NewDisposeScope();
        // CTRL θ = 2: token 0 (seen, +3) → 1.5; token 1 (seen, −1) → −2; token 2 unseen keeps 2, so the repeated token loses the argmax.
        var logits = tensor(new float[] { 3, -1, 2 }).reshape(1, 3);
        var counts = tensor(new float[] { 1, 4, 0 }).reshape(1, 3);
        Assert.Equal(new float[] { 1.5f, -2, 2 }, Row(Sampler.Penalize(logits, counts, repetition: 2, frequency: 0, presence: 0)));
        var settings = new SamplingSettings { Greedy = true, RepetitionPenalty = 2 };
        Assert.Equal(0, Sampler.Sample(logits, settings).item<long>());
        Assert.Equal(2, Sampler.Sample(logits, settings, previousTokens: tensor(new long[] { 0 }).reshape(1, 1)).item<long>());
    }

    [Fact]
    public void FrequencyAndPresencePenalties_SubtractCountTimesFrequency_PlusPresenceOnce()
    {
        using var scope = NewDisposeScope();
        // counts 0, 1, 3: token 1 → 1 − 1·0.5 − 0.25 = 0.25, token 2 → 1 − 3·0.5 − 0.25 = −0.75; token 0 unchanged.
        var logits = ones(1, 3);
        var counts = tensor(new float[] { 0, 1, 3 }).reshape(1, 3);
        Assert.Equal(new float[] { 1, 0.25f, -0.75f }, Row(Sampler.Penalize(logits, counts, repetition: 1, frequency: 0.5, presence: 0.25)));
    }

    [Fact]
    public void MinP_DropsTokensBelowTheFractionOfTheTopProbability()
    {
        using var scope = NewDisposeScope();
        // p = 0.5, 0.3, 0.15, 0.05; min_p 0.2 → floor 0.1: keep the first three. min_p 0.7 → floor 0.35: only the top.
        var logits = tensor(new[] { 0.5, 0.3, 0.15, 0.05 }.Select(p => (float)Math.Log(p)).ToArray()).reshape(1, 4);
        Assert.Equal(new[] { true, true, true, false }, Sampler.Filter(logits, 0, 1, minP: 0.2).isfinite().data<bool>().ToArray());
        Assert.Equal(new[] { true, false, false, false }, Sampler.Filter(logits, 0, 1, minP: 0.7).isfinite().data<bool>().ToArray());
    }

    [Fact]
    public void Settings_NameEachOutOfRangeSamplingKey()
    {
        var bad = new SamplingSettings { MinP = 1, RepetitionPenalty = 0, FrequencyPenalty = 2.5, PresencePenalty = -3 };
        Assert.Equal(["min_p", "repetition_penalty", "frequency_penalty", "presence_penalty"], bad.Problems().Select(p => p.Key));
        Assert.Empty(new SamplingSettings { MinP = 0.05, RepetitionPenalty = 1.2, FrequencyPenalty = -1, PresencePenalty = 2 }.Problems());
    }
}
