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

    [Fact]
    public void LogProbs_AreEachUnpaddedRowsLogSoftmax_AndTheirGradientsThoseOfTheUnfusedHead()
    {
        using var model = TinyModels.Create();
        int[][] prompts = [[5, 6, 7], [8], [3, 4]];
        int[][] responses = [[10], [11, 12, 13, 14, 15], [14, 15]];
        using var batch = RolloutBatch.Build([0, 1, 2], prompts, responses, padId: 0, torch.CPU);
        const double temperature = 0.7;

        // Values: each row alone, unpadded, through the model's own forward: log softmax(logits[|prompt| − 1 + t] / τ)[y_t].
        using (torch.no_grad())
        {
            var fused = RolloutLogProbs.Of(model, batch, temperature);
            for (var r = 0; r < prompts.Length; r++)
            {
                var ids = torch.tensor(prompts[r].Concat(responses[r]).Select(x => (long)x).ToArray()).unsqueeze(0);
                var expected = (model.call(ids) / temperature).log_softmax(-1);
                for (var t = 0; t < responses[r].Length; t++)
                    Assert.Equal(expected[0, prompts[r].Length - 1 + t, responses[r][t]].item<float>(), fused[r, t].item<float>(), 5);
            }
        }

        // Gradients in every weight, under a signed per-token upstream gradient zero on padding, against the unfused head.
        torch.manual_seed(5);
        var upstream = torch.randn(batch.Rows, batch.ResponseLength) * batch.ResponseMask.to_type(torch.ScalarType.Float32);
        (RolloutLogProbs.Of(model, batch, temperature) * upstream).sum().backward();
        var fusedGradients = model.parameters().Select(p => p.grad!.clone()).ToList();
        model.zero_grad();
        var hidden = RolloutLogProbs.ResponseHidden(model, batch.Ids, batch.AttentionMask, batch.PromptLength, batch.ResponseLength);
        (MiniLlmPipeline.Alignment.TokenLogProbs.Of(model.Logits(hidden) / temperature, batch.ResponseIds) * upstream).sum().backward();
        foreach (var (fused, unfused) in fusedGradients.Zip(model.parameters().Select(p => p.grad!)))
            Assert.True(fused.allclose(unfused, rtol: 1e-4, atol: 1e-6), "a weight's gradient differs from the unfused head's");
    }
}
