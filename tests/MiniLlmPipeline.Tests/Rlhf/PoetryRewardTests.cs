using MiniLlmPipeline.Data;
using MiniLlmPipeline.Evaluation;
using MiniLlmPipeline.Rlhf;
using MiniLlmPipeline.Tests.Tokenization;
using TorchSharp;

namespace MiniLlmPipeline.Tests.Rlhf;

public sealed class PoetryRewardTests
{
    private const string Poem = "白日依山尽，黄河入海流。欲穷千里目，更上一层楼。";      // compliant 五绝, no repeats
    private const string Repeated = "春春一是春，一春春是春。春是一春春，一是春春春。";  // compliant 五绝, 17 of 20 repeat

    [Fact]
    public void Score_SubtractsRepetitionTimesTheRepeatedShare_FromTheFormTerms()
    {
        var tokenizer = TokenizerCorpus.ChatTokenizer;
        var prompts = new[] { new PromptExample("写一首五言绝句", new Dictionary<string, string> { ["form"] = "五绝" }) };
        var end = tokenizer.ImEndId;
        var responses = new[] { Poem, Repeated }.Select(t => tokenizer.Encode(t).Append(end).ToArray()).ToList();
        using var batch = RolloutBatch.Build([0, 0], [[.. tokenizer.Encode("写一首五言绝句")], [.. tokenizer.Encode("写一首五言绝句")]],
            responses, tokenizer.PadId, torch.CPU);

        var weights = new RewardWeights { Form = 1, Compliant = 2, MissingEnd = 1, Repetition = 3 };
        var scores = new PoetryReward(null, tokenizer, prompts, weights, [end]).Score(batch);

        Assert.True(PoetryFormChecker.Check("五绝", Repeated).Compliant);    // the checker alone cannot tell them apart
        Assert.Equal(1 + 2 - 0, scores.Total[0], 5);
        Assert.Equal(1 + 2 - 3 * (17.0 / 20), scores.Total[1], 5);
        Assert.Equal((0 + 17.0 / 20) / 2, scores.Parts["repeated_share_mean"], 5);
        Assert.Equal(1.0, scores.Parts["form_compliance"], 5);
    }

    [Fact]
    public void Problems_RefuseANegativeOrInfiniteRepetitionWeight()
    {
        Assert.Contains(new RewardWeights { Repetition = -1 }.Problems(false), p => p.Key == "reward.repetition" && p.Problem.Contains("must not be negative"));
        Assert.Contains(new RewardWeights { Repetition = double.NaN }.Problems(false), p => p.Key == "reward.repetition" && p.Problem.Contains("finite"));
        Assert.Empty(new RewardWeights { Repetition = 3 }.Problems(false));
    }

    [Fact]
    public void Formula_NamesEveryWeightAndOnlyTheOptionalTermsThatAreOn()
    {
        Assert.Equal("1·form + 1·compliant + 0.5·rhyme − 1·missing end − 3·repeated chars",
            new RewardWeights { Form = 1, Compliant = 1, Rhyme = 0.5, MissingEnd = 1, Repetition = 3 }.Formula());
        Assert.Equal("5·form + 5·compliant + 0·rhyme − 1·missing end + 0.3·reward model",
            new RewardWeights { Model = 0.3, Form = 5, Compliant = 5, MissingEnd = 1 }.Formula());
    }
}
