using MiniLlmPipeline.Generation;
using MiniLlmPipeline.Tests.Model;
using TorchSharp;

namespace MiniLlmPipeline.Tests.Generation;

public class BatchedGeneratorTests
{
    private static readonly SamplingSettings GreedyTen = new() { Greedy = true, MaxNewTokens = 10 };

    private static readonly int[][] Prompts = [[5, 9, 2, 7, 7, 1], [3], [11, 4, 4]];

    [Fact]
    public void LeftPaddedBatch_GeneratesWhatEachPromptGeneratesAlone()
    {
        using var model = TinyModels.Create();
        var batched = BatchedGenerator.Generate(model, Prompts, GreedyTen, stopIds: [], padId: 0, rng: null);
        for (var i = 0; i < Prompts.Length; i++)
        {
            var alone = BatchedGenerator.Generate(model, [Prompts[i]], GreedyTen, stopIds: [], padId: 0, rng: null);
            Assert.Equal(alone[0], batched[i]);
            Assert.Equal(10, batched[i].Length);
        }
    }

    [Fact]
    public void KvCachedDecoding_GeneratesWhatFullRecomputationGenerates()
    {
        using var model = TinyModels.Create();
        var cached = BatchedGenerator.Generate(model, Prompts, GreedyTen, stopIds: [], padId: 0, rng: null);
        var recomputed = BatchedGenerator.Generate(model, Prompts, GreedyTen, stopIds: [], padId: 0, rng: null, useKvCache: false);
        Assert.Equal(cached, recomputed);
    }

    [Fact]
    public void StopToken_EndsItsRow_AndIsIncluded()
    {
        using var model = TinyModels.Create();
        var free = BatchedGenerator.Generate(model, Prompts, GreedyTen, stopIds: [], padId: 0, rng: null);
        var stop = free[0][2];
        var stopped = BatchedGenerator.Generate(model, Prompts, GreedyTen, stopIds: [stop], padId: 0, rng: null);
        for (var i = 0; i < Prompts.Length; i++)
        {
            var firstStop = Array.IndexOf(free[i], stop);
            var expected = firstStop < 0 ? free[i] : free[i][..(firstStop + 1)];
            Assert.Equal(expected, stopped[i]);
        }
        Assert.Equal(stop, stopped[0][^1]);
    }

    [Fact]
    public void SampledGeneration_IsReproducible_WithTheSameSeed()
    {
        using var model = TinyModels.Create();
        var settings = new SamplingSettings { MaxNewTokens = 8, Temperature = 1.0, TopK = 20 };
        var first = BatchedGenerator.Generate(model, Prompts, settings, [], 0, new torch.Generator(3));
        var second = BatchedGenerator.Generate(model, Prompts, settings, [], 0, new torch.Generator(3));
        Assert.Equal(first, second);
    }
}
