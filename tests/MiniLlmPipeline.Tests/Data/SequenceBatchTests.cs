using MiniLlmPipeline.Data;
using static TorchSharp.torch;

namespace MiniLlmPipeline.Tests.Data;

public class SequenceBatchTests
{
    private const int Pad = 0;

    private static long[] Longs(Tensor t) => t.data<long>().ToArray();
    private static float[] Floats(Tensor t) => t.data<float>().ToArray();

    [Fact]
    public void Build_ShiftsTargets_RightPads_AndMasksOnlyTrainedTargets()
    {
        // Example 0: prompt [5, 6], response [7, 8] → inputs [5,6,7], targets [6,7,8], mask from tokens 1..3 = [0,1,1].
        // Example 1: [9, 10] trained on 10 → inputs [9], targets [10], mask [1], padded to T = 3.
        using var batch = SequenceBatch.Build(
        [
            new TokenizedSequence([5, 6, 7, 8], [false, false, true, true]),
            new TokenizedSequence([9, 10], [false, true]),
        ], Pad, maxLength: 16);
        Assert.Equal(new long[] { 2, 3 }, batch.InputIds.shape);
        Assert.Equal(ScalarType.Int64, batch.InputIds.dtype);
        Assert.Equal(new long[] { 5, 6, 7, 9, Pad, Pad }, Longs(batch.InputIds));
        Assert.Equal(new long[] { 6, 7, 8, 10, Pad, Pad }, Longs(batch.Targets));
        Assert.Equal(new float[] { 0, 1, 1, 1, 0, 0 }, Floats(batch.LossMask));
        Assert.Equal(new[] { 3, 1 }, batch.Lengths);
        Assert.Equal(3, batch.TrainedTokens);
    }

    [Fact]
    public void Build_TruncatesTheTail_KeepingThePrompt()
    {
        // maxLength 3 keeps the first 4 tokens [1,2,3,4]: inputs [1,2,3], targets [2,3,4], mask [0,1,1].
        using var batch = SequenceBatch.Build(
            [new TokenizedSequence([1, 2, 3, 4, 5, 6], [false, false, true, true, true, true])], Pad, maxLength: 3);
        Assert.Equal(new long[] { 1, 2, 3 }, Longs(batch.InputIds));
        Assert.Equal(new long[] { 2, 3, 4 }, Longs(batch.Targets));
        Assert.Equal(new float[] { 0, 1, 1 }, Floats(batch.LossMask));
    }

    [Fact]
    public void Build_RejectsAnExampleWhosePromptFillsTheMaxLength()
    {
        var fine = new TokenizedSequence([1, 2, 3], [true, true, true]);
        var longPrompt = new TokenizedSequence([1, 2, 3, 4, 5], [false, false, false, false, true]);
        var error = Assert.Throws<DatasetException>(() => SequenceBatch.Build([fine, longPrompt], Pad, maxLength: 3));
        Assert.Contains("Example 1", error.Message);
        Assert.False(SequenceBatch.HasTrainedTargets(longPrompt, 3));
        Assert.True(SequenceBatch.HasTrainedTargets(longPrompt, 4));
    }

    [Fact]
    public void Build_RejectsASingleTokenExample()
    {
        var error = Assert.Throws<DatasetException>(() => SequenceBatch.Build([new TokenizedSequence([7], [true])], Pad, 8));
        Assert.Contains("Example 0 has 1 token", error.Message);
    }
}
