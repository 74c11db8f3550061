using MiniLlmPipeline.Model;
using TorchSharp;
using static TorchSharp.torch;

namespace MiniLlmPipeline.Tests.Model;

public class KvCacheTests
{
    [Fact]
    public void CachedDecoding_GivesTheSameLogits_AsOneFullForward()
    {
        using var scope = NewDisposeScope();
        using var model = TinyModels.Create();
        using var noGrad = no_grad();
        var ids = TinyModels.RandomIds(2, 12);
        var full = model.forward(ids);
        using var cache = new KvCache(TinyModels.Config.NLayers, 12);

        // A 4-token prefill, a 3-token chunk (causal mask offset by the cache), then one token at a time.
        var chunks = new List<(int Start, int Length)> { (0, 4), (4, 3) };
        chunks.AddRange(Enumerable.Range(7, 5).Select(i => (i, 1)));
        foreach (var (start, length) in chunks)
        {
            var logits = model.Logits(model.HiddenStates(ids.narrow(1, start, length), cache: cache));
            var expected = full.narrow(1, start, length);
            Assert.True(logits.allclose(expected, rtol: 1e-4, atol: 1e-5), $"positions {start}..{start + length - 1}");
        }
        Assert.Equal(12, cache.Length);
    }

    [Fact]
    public void Append_BeyondCapacity_Throws()
    {
        using var scope = NewDisposeScope();
        using var model = TinyModels.Create();
        using var noGrad = no_grad();
        using var cache = new KvCache(TinyModels.Config.NLayers, 4);
        model.HiddenStates(TinyModels.RandomIds(1, 4), cache: cache);
        Assert.Throws<InvalidOperationException>(() => model.HiddenStates(TinyModels.RandomIds(1, 1), cache: cache));
    }
}
