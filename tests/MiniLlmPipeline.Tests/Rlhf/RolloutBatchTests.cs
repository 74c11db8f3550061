using MiniLlmPipeline.Rlhf;
using TorchSharp;

namespace MiniLlmPipeline.Tests.Rlhf;

public sealed class RolloutBatchTests
{
    [Fact]
    public void Build_LeftPadsPrompts_RightPadsResponses_AndFindsEachRowsLastToken()
    {
        using var batch = RolloutBatch.Build([4, 9], [[5, 6, 7], [8]], [[10], [11, 12, 13]], padId: 0, torch.CPU);

        Assert.Equal(3, batch.PromptLength);
        Assert.Equal(3, batch.ResponseLength);
        Assert.Equal(new long[] { 5, 6, 7, 10, 0, 0, 0, 0, 8, 11, 12, 13 }, batch.Ids.data<long>().ToArray());
        Assert.Equal(new[] { true, true, true, true, false, false, false, false, true, true, true, true },
            batch.AttentionMask.data<bool>().ToArray());
        Assert.Equal(new long[] { 10, 0, 0, 11, 12, 13 }, batch.ResponseIds.data<long>().ToArray());
        Assert.Equal(new[] { true, false, false, true, true, true }, batch.ResponseMask.data<bool>().ToArray());
        Assert.Equal(new long[] { 3, 5 }, batch.LastTokenIndex.data<long>().ToArray());
        Assert.Equal([4, 9], batch.PromptIndices);
    }
}
