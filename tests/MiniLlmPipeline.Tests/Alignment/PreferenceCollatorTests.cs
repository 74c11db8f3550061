using MiniLlmPipeline.Alignment;
using MiniLlmPipeline.Data;
using MiniLlmPipeline.Model;
using MiniLlmPipeline.Tests.Model;
using MiniLlmPipeline.Tests.Tokenization;
using MiniLlmPipeline.Tokenization;
using TorchSharp;
using static TorchSharp.torch;

namespace MiniLlmPipeline.Tests.Alignment;

public sealed class PreferenceCollatorTests
{
    private static readonly TextTokenizer Tokenizer = TokenizerCorpus.ChatTokenizer;

    private static readonly PreferenceExample[] Examples =
    [
        new("写一首诗", "床前明月光", "床前"),
        new("以《春晓》为题写一首五言绝句", "春眠不觉晓，处处闻啼鸟。", "春眠不觉晓"),
        new("续写", "白日依山尽，黄河入海流。欲穷千里目，更上一层楼。", "白日依山尽"),
    ];

    private static int[] Conversation(string prompt, string response) =>
        ChatTemplate.Render(Tokenizer, [new("user", prompt), new("assistant", response)]).Ids;

    [Fact]
    public void Render_EndsEachSideAtTheResponsesImEnd_WithOnlyTheResponseMasked()
    {
        var rendered = PreferenceCollator.Render(Tokenizer, Examples, 512);

        Assert.Equal((3, 0, 0), (rendered.Pairs.Count, rendered.Dropped, rendered.Truncated));
        var pair = rendered.Pairs[0];
        var prompt = ChatTemplate.RenderPrompt(Tokenizer, "写一首诗");
        Assert.Equal([.. prompt, .. Tokenizer.Encode("床前明月光"), Tokenizer.ImEndId], pair.Chosen.Ids);
        Assert.Equal([.. prompt, .. Tokenizer.Encode("床前"), Tokenizer.ImEndId], pair.Rejected.Ids);
        Assert.Equal(Conversation("写一首诗", "床前明月光")[..^Tokenizer.Encode("\n").Count], pair.Chosen.Ids);
        Assert.Equal(Enumerable.Range(0, pair.Chosen.Ids.Length).Select(i => i >= prompt.Length), pair.Chosen.LossMask);
        Assert.Equal(Math.Max(pair.Chosen.Ids.Length, pair.Rejected.Ids.Length), pair.Length);
        Assert.Equal([0, 1, 2], rendered.Pairs.Select(p => p.Row));
    }

    [Fact]
    public void Render_DropsPairsWhosePromptFillsTheWindow_AndCutsResponsesThatRunPastIt()
    {
        var shortPrompt = ChatTemplate.RenderPrompt(Tokenizer, "写一首诗").Length;
        var longPrompt = ChatTemplate.RenderPrompt(Tokenizer, "以《春晓》为题写一首五言绝句").Length;
        Assert.True(longPrompt > shortPrompt + 1);
        var window = shortPrompt + 2; // the short prompt keeps two response tokens, the long one none

        var rendered = PreferenceCollator.Render(Tokenizer, Examples, window);

        Assert.True(ChatTemplate.RenderPrompt(Tokenizer, "续写").Length < window);
        Assert.Equal([0, 2], rendered.Pairs.Select(p => p.Row));
        Assert.Equal(1, rendered.Dropped);
        Assert.Equal(2, rendered.Truncated);
        Assert.All(rendered.Pairs, p => Assert.Equal(window, p.Chosen.Ids.Length));
        Assert.Equal(Conversation("写一首诗", "床前明月光")[..window], rendered.Pairs[0].Chosen.Ids);
        Assert.Contains("1 dropped", rendered.Describe("x.parquet"));
    }

    [Fact]
    public void Collate_StacksChosenRowsThenRejectedRows_RightPadded_WithEachRowsLastToken()
    {
        var pairs = PreferenceCollator.Render(Tokenizer, Examples[..2], 512).Pairs;
        using var batch = PreferenceCollator.Collate(pairs, Tokenizer.PadId);

        var rows = new[] { pairs[0].Chosen, pairs[1].Chosen, pairs[0].Rejected, pairs[1].Rejected };
        var width = rows.Max(r => r.Ids.Length);
        Assert.Equal(new long[] { 4, width }, batch.InputIds.shape);
        Assert.Equal(2, batch.Pairs);
        Assert.Equal(rows.Sum(r => r.Ids.Length), batch.Tokens);
        var ids = batch.InputIds.data<long>().ToArray();
        var mask = batch.ResponseMask.data<float>().ToArray();
        for (var i = 0; i < rows.Length; i++)
            for (var t = 0; t < width; t++)
            {
                var real = t < rows[i].Ids.Length;
                Assert.Equal(real ? rows[i].Ids[t] : Tokenizer.PadId, ids[i * width + t]);
                Assert.Equal(real && rows[i].LossMask[t] ? 1f : 0f, mask[i * width + t]);
            }
        Assert.Equal(rows.Select(r => (long)r.Ids.Length - 1), batch.LastTokenIndex.data<long>().ToArray());
        Assert.All(rows, r => Assert.Equal(Tokenizer.ImEndId, r.Ids[^1]));

        using var perRow = arange(4 * width).reshape(4, width);
        var (chosen, rejected) = batch.Split(batch.AtLastToken(perRow));
        Assert.Equal(new long[] { rows[0].Ids.Length - 1, width + rows[1].Ids.Length - 1 }, chosen.data<long>().ToArray());
        Assert.Equal(new long[] { 2 * width + rows[2].Ids.Length - 1, 3 * width + rows[3].Ids.Length - 1 }, rejected.data<long>().ToArray());
    }

    [Fact]
    public void ResponseLogProbs_SumOnlyTheResponseTokens_WhateverThePadding()
    {
        var pairs = PreferenceCollator.Render(Tokenizer, Examples, 512).Pairs;
        using var model = Model();
        using var batch = PreferenceCollator.Collate(pairs, Tokenizer.PadId);
        using var noGrad = no_grad();
        var batched = batch.ResponseLogProbs(model).data<float>().ToArray();   // the fused head the stages use

        var rows = pairs.Select(p => p.Chosen).Concat(pairs.Select(p => p.Rejected)).ToList();
        for (var i = 0; i < rows.Count; i++)
        {
            // Unpadded, one sequence at a time: Σ over response positions t of log softmax(logits[t − 1])[id_t].
            using var ids = tensor(rows[i].Ids.Select(x => (long)x).ToArray()).unsqueeze(0);
            using var logProbs = model.call(ids).log_softmax(-1);
            double expected = 0;
            for (var t = 1; t < rows[i].Ids.Length; t++)
                if (rows[i].LossMask[t]) expected += logProbs[0, t - 1, rows[i].Ids[t]].item<float>();
            Assert.Equal(expected, batched[i], 3);
        }
        var averaged = batch.ResponseLogProbs(model, lengthNormalised: true).data<float>().ToArray();
        var responseTokens = rows.Select(r => r.LossMask.Count(m => m)).ToArray();
        for (var i = 0; i < rows.Count; i++) Assert.Equal(batched[i] / responseTokens[i], averaged[i], 4);
        var unfused = UnfusedResponseLogProbs(batch, model).data<float>().ToArray();
        for (var i = 0; i < rows.Count; i++) Assert.Equal(unfused[i], batched[i], 3);
    }

    [Fact]
    public void ResponseLogProbs_ThroughTheFusedHead_HaveTheUnfusedGradients()
    {
        var pairs = PreferenceCollator.Render(Tokenizer, Examples, 512).Pairs;
        using var model = Model();
        using var batch = PreferenceCollator.Collate(pairs, Tokenizer.PadId);
        var weights = tensor(Enumerable.Range(0, 2 * pairs.Count).Select(i => i % 2 == 0 ? 1.0f : -0.5f).ToArray());
        (batch.ResponseLogProbs(model) * weights).sum().backward();
        var fused = model.parameters().Select(p => p.grad!.clone()).ToList();
        model.zero_grad();
        (UnfusedResponseLogProbs(batch, model) * weights).sum().backward();
        foreach (var (a, b) in fused.Zip(model.parameters().Select(p => p.grad!)))
            Assert.True(a.allclose(b, rtol: 1e-4, atol: 1e-6), "a weight's gradient differs from the unfused head's");
    }

    [Fact]
    public void Map_ReturnsEachPairsValuesInTheCallersOrder_WithoutGradient()
    {
        var pairs = PreferenceCollator.Render(Tokenizer, Examples, 512).Pairs;
        using var model = Model();
        int[] indices = [2, 0, 1, 2];

        var values = PreferenceCollator.Map(pairs, indices, 3, Tokenizer.PadId, CPU, b =>
        {
            Assert.False(is_grad_enabled());
            return b.ResponseLogProbs(model);
        });

        for (var j = 0; j < indices.Length; j++)
        {
            using var single = PreferenceCollator.Collate([pairs[indices[j]]], Tokenizer.PadId);
            using var logProbs = single.ResponseLogProbs(model).detach();
            Assert.Equal(logProbs[0].item<float>(), values.Chosen[j], 3);
            Assert.Equal(logProbs[1].item<float>(), values.Rejected[j], 3);
        }
        Assert.NotEqual(values.Chosen[1], values.Rejected[1]);
    }

    /// <summary>The unfused definition the stages' fused head must equal: full logits, the token at i predicted at i − 1.</summary>
    private static Tensor UnfusedResponseLogProbs(PreferenceBatch batch, Gpt model)
    {
        var t = batch.InputIds.shape[1];
        var tokenLogProbs = TokenLogProbs.Of(model.call(batch.InputIds).narrow(1, 0, t - 1), batch.InputIds.narrow(1, 1, t - 1));
        return batch.ResponseLogProbsOf(tokenLogProbs, lengthNormalised: false);
    }

    private static Gpt Model() => TinyModels.Create(seed: 3, TinyModels.Config with { VocabSize = Tokenizer.VocabSize, MaxSeqLen = 128 });
}
