using MiniLlmPipeline.Rlhf;
using MiniLlmPipeline.Tests.Alignment;
using MiniLlmPipeline.Tests.Model;
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

    [Fact]
    public void Select_CutsTheColumnsThatArePaddingInEveryChosenRow()
    {
        // Prompts of 3, 1 and 2 tokens; answers of 1, 3 and 2.
        using var batch = RolloutBatch.Build([0, 1, 2], [[5, 6, 7], [8], [3, 4]], [[10], [11, 12, 13], [14, 15]], padId: 0, torch.CPU);
        using var scope = torch.NewDisposeScope();

        var rows = batch.Select([2, 1]);

        Assert.Equal(2, rows.PromptLength);    // the widest chosen prompt
        Assert.Equal(3, rows.ResponseLength);  // the longest chosen answer
        Assert.Equal(new long[] { 3, 4, 14, 15, 0, 0, 8, 11, 12, 13 }, rows.Ids.data<long>().ToArray());
        Assert.Equal(new[] { true, true, true, true, false, false, true, true, true, true }, rows.AttentionMask.data<bool>().ToArray());
        Assert.Equal(new long[] { 14, 15, 0, 11, 12, 13 }, rows.ResponseIds.data<long>().ToArray());
        Assert.Equal(new[] { true, true, false, true, true, true }, rows.ResponseMask.data<bool>().ToArray());
        Assert.Equal(new float[] { 3, 2 }, rows.PerRow(torch.tensor(new float[] { 1, 2, 3 })).data<float>().ToArray());
        Assert.Equal(new long[] { 14, 15, 0, 11, 12, 13 }, rows.PerToken(batch.ResponseIds).data<long>().ToArray());

        var shortOnly = batch.Select([0]);
        Assert.Equal((3, 1), (shortOnly.PromptLength, shortOnly.ResponseLength));
        Assert.Equal(new long[] { 5, 6, 7, 10 }, shortOnly.Ids.data<long>().ToArray());
    }

    [Fact]
    public void LogProbsInLengthGroups_EqualThoseOfTheWholePaddedBatch()
    {
        using var model = TinyModels.Create();
        using var batch = RolloutBatch.Build([0, 1, 2, 3], [[5, 6, 7], [8], [3, 4], [9, 9, 9]], [[10], [11, 12, 13, 14, 15], [14, 15], [1, 2]],
            padId: 0, torch.CPU);
        using var noGrad = torch.no_grad();
        using var scope = torch.NewDisposeScope();

        var whole = RolloutLogProbs.Of(model, batch, temperature: 0.7);
        var grouped = RolloutLogProbs.Of(model, batch, RolloutSampling.ByLength([4, 6, 4, 5], size: 2), temperature: 0.7);

        var mask = batch.ResponseMask;
        TensorAssert.Close(whole.masked_select(mask).to_type(torch.ScalarType.Float64).data<double>().ToArray(), grouped.masked_select(mask));
    }
}
