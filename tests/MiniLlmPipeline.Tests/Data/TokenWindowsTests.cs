using MiniLlmPipeline.Data;
using TorchSharp;
using static TorchSharp.torch;

namespace MiniLlmPipeline.Tests.Data;

public sealed class TokenWindowsTests
{
    /// <summary>A sequence whose id at position i is i, so a window's values are its positions.</summary>
    private static InMemoryTokenSequence Positions(int count) => new([.. Enumerable.Range(0, count)], vocabSize: count);

    [Fact]
    public void Sample_OfACorpusExactlyOneWindowLong_ReturnsThatWindowSplitIntoInputsAndNextTokenTargets()
    {
        using var scope = torch.NewDisposeScope();
        var (inputs, targets) = TokenWindows.Sample(Positions(5), rows: 2, seqLen: 4, seed: 9, CPU);

        Assert.Equal([2L, 4L], inputs.shape);
        Assert.Equal([0L, 1, 2, 3, 0, 1, 2, 3], inputs.data<long>().ToArray());
        Assert.Equal([1L, 2, 3, 4, 1, 2, 3, 4], targets.data<long>().ToArray());
    }

    [Fact]
    public void Sample_DrawsContiguousWindows_WithTargetsOneAhead_AndTheSameWindowsForTheSameSeed()
    {
        using var scope = torch.NewDisposeScope();
        var corpus = Positions(1000);
        var (inputs, targets) = TokenWindows.Sample(corpus, rows: 8, seqLen: 16, seed: 5, CPU);
        var ids = inputs.data<long>().ToArray();

        for (var b = 0; b < 8; b++)
            for (var t = 1; t < 16; t++)
                Assert.Equal(ids[b * 16] + t, ids[b * 16 + t]);
        Assert.Equal(ids.Select(id => id + 1), targets.data<long>().ToArray());
        Assert.Equal(ids, TokenWindows.Sample(corpus, rows: 8, seqLen: 16, seed: 5, CPU).Inputs.data<long>().ToArray());
        Assert.NotEqual(ids, TokenWindows.Sample(corpus, rows: 8, seqLen: 16, seed: 6, CPU).Inputs.data<long>().ToArray());
    }

    [Fact]
    public void Sample_OfACorpusShorterThanOneWindow_ThrowsADatasetErrorWithBothCounts()
    {
        var error = Assert.Throws<DatasetException>(() => TokenWindows.Sample(Positions(4), rows: 1, seqLen: 4, seed: 1, CPU));
        Assert.Equal("the corpus has 4 tokens, fewer than one training window of max_seq_len + 1 = 5", error.Message);
    }
}
