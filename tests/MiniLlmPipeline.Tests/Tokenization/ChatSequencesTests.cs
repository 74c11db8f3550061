using MiniLlmPipeline.Data;
using MiniLlmPipeline.Tokenization;
using static TorchSharp.torch;

namespace MiniLlmPipeline.Tests.Tokenization;

public sealed class ChatSequencesTests
{
    private static readonly TextTokenizer Tokenizer = TokenizerCorpus.ChatTokenizer;

    private static ConversationTurn[] Pair(string prompt, string response) => [new("user", prompt), new("assistant", response)];

    /// <summary>The target ids of one batch row where the loss mask is 1.</summary>
    private static int[] TrainedTargets(SequenceBatch batch, int row)
    {
        var targets = batch.Targets[row].data<long>().ToArray();
        var mask = batch.LossMask[row].data<float>().ToArray();
        return targets.Where((_, t) => mask[t] == 1).Select(id => (int)id).ToArray();
    }

    [Fact]
    public void Batch_TrainsExactlyTheAssistantTokensAndTheirEndOfTurn_SingleAndMultiTurn()
    {
        var (kept, dropped) = ChatSequences.Encode(Tokenizer,
        [
            Pair("写一首诗", "床前明月光"),
            [new("system", "你是诗人"), new("user", "春"), new("assistant", "春眠不觉晓"), new("user", "再来"), new("assistant", "处处闻啼鸟")],
        ], maxLength: 128);
        Assert.Equal(0, dropped);

        using var batch = SequenceBatch.Build(kept, Tokenizer.PadId, maxLength: 128);
        Assert.Equal([.. Tokenizer.Encode("床前明月光"), Tokenizer.ImEndId], TrainedTargets(batch, 0));
        Assert.Equal([.. Tokenizer.Encode("春眠不觉晓"), Tokenizer.ImEndId, .. Tokenizer.Encode("处处闻啼鸟"), Tokenizer.ImEndId],
            TrainedTargets(batch, 1));
        // Nothing else is trained: not the prompt, not the role headers, not the padding of the shorter row.
        Assert.Equal(TrainedTargets(batch, 0).Length + TrainedTargets(batch, 1).Length, batch.TrainedTokens);
        var shortRow = batch.Lengths[0];
        Assert.All(batch.LossMask[0].data<float>().ToArray()[shortRow..], m => Assert.Equal(0f, m));
    }

    [Fact]
    public void Encode_DropsAndCountsExamplesWhosePromptFillsTheContext_AndKeepsLongAnswersWithATarget()
    {
        var longPrompt = string.Concat(Enumerable.Repeat("床前明月光，疑是地上霜。", 20));
        var longAnswer = string.Concat(Enumerable.Repeat("春眠不觉晓，处处闻啼鸟。", 20));
        const int maxLength = 24;
        var (kept, dropped) = ChatSequences.Encode(Tokenizer, [Pair(longPrompt, "诗"), Pair("春", longAnswer), Pair("写诗", "江雪")], maxLength);

        Assert.Equal(1, dropped);
        Assert.Equal(2, kept.Count);
        Assert.All(kept, s => Assert.True(SequenceBatch.HasTrainedTargets(s, maxLength)));
        using var batch = SequenceBatch.Build(kept, Tokenizer.PadId, maxLength);
        Assert.Equal(maxLength, batch.InputIds.shape[1]);           // the long answer is cut at the context, not dropped
        Assert.True(TrainedTargets(batch, 0).Length > 0 && TrainedTargets(batch, 1).Length > 0);
    }
}
