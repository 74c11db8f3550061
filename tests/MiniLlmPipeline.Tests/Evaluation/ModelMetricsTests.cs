using MiniLlmPipeline.Data;
using MiniLlmPipeline.Evaluation;
using MiniLlmPipeline.Model;
using MiniLlmPipeline.Tests.Model;
using MiniLlmPipeline.Tokenization;
using TorchSharp;

namespace MiniLlmPipeline.Tests.Evaluation;

public sealed class ModelMetricsTests
{
    private static readonly GptConfig Config = TinyModels.Config with { VocabSize = BpeModel.BytesOnly().VocabSize, MaxSeqLen = 16 };

    [Fact]
    public void ValidationPerplexity_OfAModelWithUniformPredictions_IsTheVocabularySize()
    {
        using var model = new Gpt(Config);
        using (torch.no_grad())
            foreach (var p in model.parameters()) p.zero_();   // zero embedding → zero logits → uniform (float32 CE, so 4 decimals)
        var ids = Enumerable.Range(0, 100).Select(i => i % 200).ToArray();

        Assert.Equal(Config.VocabSize, ValidationPerplexity.Compute(model, ids, maxWindows: 0), 4);
        Assert.Equal(Config.VocabSize, ValidationPerplexity.Compute(model, ids[..5], maxWindows: 0), 4);   // shorter than a window
        Assert.True(double.IsNaN(ValidationPerplexity.Compute(model, ids[..1], maxWindows: 0)));
    }

    [Fact]
    public void ValidationPerplexity_ReadsOnlyTheFirstWindows()
    {
        torch.manual_seed(3);
        using var model = new Gpt(Config);
        var ids = Enumerable.Range(0, 100).Select(i => (i * 7) % 250).ToArray();

        // 2 windows of 16 targets read ids[0..33); what follows must not matter.
        var changedTail = ids.ToArray();
        for (var i = 33; i < changedTail.Length; i++) changedTail[i] = 1;
        Assert.Equal(ValidationPerplexity.Compute(model, ids, maxWindows: 2), ValidationPerplexity.Compute(model, changedTail, maxWindows: 2));
        Assert.NotEqual(ValidationPerplexity.Compute(model, ids, maxWindows: 0), ValidationPerplexity.Compute(model, changedTail, maxWindows: 0));
    }

    [Fact]
    public void RewardModelScorer_ScoresABatchAsItScoresEachPairAlone()
    {
        torch.manual_seed(5);
        using var model = new ScalarHeadModel(new Gpt(Config));
        var scorer = new RewardModelScorer(model, TextTokenizer.FromModel(BpeModel.BytesOnly()));
        (string, string)[] pairs = [("a", "short"), ("a longer prompt", "and a much longer answer than the first"), ("q", "")];

        var batched = scorer.Score(pairs);
        var alone = pairs.Select(p => scorer.Score([p])[0]).ToArray();

        Assert.Equal(alone, batched, (x, y) => Math.Abs(x - y) < 1e-5);
        Assert.NotEqual(batched[0], batched[1]);
    }

    [Fact]
    public void RewardModelScorer_ReadsTheScoreAtTheEndOfTheAnswer_AndKeepsItWhenTruncating()
    {
        var tokenizer = TextTokenizer.FromModel(BpeModel.BytesOnly());
        using var model = new ScalarHeadModel(new Gpt(Config));
        var scorer = new RewardModelScorer(model, tokenizer);

        var ids = scorer.Encode("p", "r");
        Assert.Equal(tokenizer.ImEndId, ids[^1]);
        var longIds = scorer.Encode(new string('x', 40), "answer");
        Assert.Equal(Config.MaxSeqLen, longIds.Length);
        Assert.Equal(tokenizer.ImEndId, longIds[^1]);
        Assert.Equal("answer", tokenizer.Decode(longIds[^7..^1]));
    }

    [Fact]
    public void PairwiseAccuracy_CountsChosenAboveRejected()
    {
        torch.manual_seed(9);
        using var model = new ScalarHeadModel(new Gpt(Config));
        var scorer = new RewardModelScorer(model, TextTokenizer.FromModel(BpeModel.BytesOnly()));
        var a = new PreferenceExample("p", "first answer", "second one");
        var swapped = new PreferenceExample("p", "second one", "first answer");
        var same = new PreferenceExample("p", "same", "same");

        var (forward, margin) = scorer.PairwiseAccuracy([a]);
        var (backward, _) = scorer.PairwiseAccuracy([swapped]);
        Assert.Equal(1.0, forward + backward);   // exactly one ordering wins (scores differ)
        Assert.Equal(forward == 1.0, margin > 0);
        Assert.Equal(0.5, scorer.PairwiseAccuracy([same]).Accuracy);
        Assert.Equal(0.5, scorer.PairwiseAccuracy([a, swapped]).Accuracy);
    }
}
