using MiniLlmPipeline.Stages.Serve;
using TorchSharp;
using static TorchSharp.torch;

namespace MiniLlmPipeline.Tests.Serve;

/// <summary>Serve's per-row sampler honours each request's presence/frequency penalty and min-p.</summary>
public class RowSamplerTests
{
    private static DecodeRow Row(double temperature, double presence = 0, double frequency = 0, double minP = 0, params long[] sampled)
    {
        var job = new GenerationJob("t", [1], 1, 8, temperature, 1.0, null, [])
        {
            PresencePenalty = presence, FrequencyPenalty = frequency, MinP = minP,
        };
        var row = new DecodeRow(job, 0, 8, new torch.Generator(3));
        foreach (var token in sampled) row.LastToken = token;
        return row;
    }

    [Fact]
    public void Penalties_CountOnlyTheirOwnRowsTokens()
    {
        using var scope = NewDisposeScope();
        // Token 0 leads by 0.5: presence 1 on a row that produced it once → 3 − 1 = 2 < 2.5; frequency 0.2 after three → 3 − 0.6 = 2.4 < 2.5.
        var logits = tensor(new float[] { 3, 2.5f, 0 }).repeat(4, 1);
        using var plain = Row(0, sampled: 0);
        using var presence = Row(0, presence: 1, sampled: 0);
        using var frequency = Row(0, frequency: 0.2, sampled: [0, 0, 0]);
        using var unseen = Row(0, presence: 1, sampled: 2);
        var picked = RowSampler.Sample(logits, [plain, presence, frequency, unseen]).data<long>().ToArray();
        Assert.Equal(new long[] { 0, 1, 1, 0 }, picked);
    }

    [Fact]
    public void MinP_NeverSamplesATokenBelowItsFloor()
    {
        using var scope = NewDisposeScope();
        // p = 0.6, 0.35, 0.05 and min_p 0.5: the floor 0.3 keeps tokens 0 and 1 only.
        var logits = tensor(new[] { 0.6, 0.35, 0.05 }.Select(p => (float)Math.Log(p)).ToArray()).repeat(2, 1);
        using var row = Row(1, minP: 0.5);
        using var free = Row(1);
        var seen = new HashSet<long>();
        var freeSeen = new HashSet<long>();
        for (var i = 0; i < 200; i++)
        {
            var picked = RowSampler.Sample(logits, [row, free]).data<long>().ToArray();
            seen.Add(picked[0]);
            freeSeen.Add(picked[1]);
        }
        Assert.Equal([0L, 1L], seen.Order());
        Assert.Contains(2L, freeSeen);
    }
}
