using MiniLlmPipeline.IO;
using MiniLlmPipeline.Tokenization;

namespace MiniLlmPipeline.Tests.Tokenization;

public sealed class BpeTrainerTests
{
    private static IEnumerable<string> MergeLines(BpeModel model) =>
        model.Merges.Select(m => model.Tokens[m.Left] + " " + model.Tokens[m.Right]);

    [Fact]
    public void Train_LearnsTheMostFrequentPairsFirst_KnownAnswer()
    {
        // Pre-tokens: "ab" ×1, " ab" ×2, " abc" ×1. Pair counts: (a,b) 4, (' ',a) 3, (b,c) 1 → merge a+b.
        // Then (' ',ab) 3, (ab,c) 1 → merge ' '+ab. Then only (Ġab,c) 1 is left, below min_frequency 2.
        var model = new BpeTrainer(vocabSize: 300, minFrequency: 2).Train(["ab ab ab abc"]);

        Assert.Equal(["a b", "Ġ ab"], MergeLines(model));
        Assert.Equal(262, model.VocabSize);
        Assert.Equal("ab", model.Tokens[260]);
        Assert.Equal("Ġab", model.Tokens[261]);
    }

    [Fact]
    public void Train_BreaksTiesByTheSmallerPairIds()
    {
        // "ba", " ab": (' ',a), (a,b), (b,a) all occur once; (32,97) is the smallest pair, then
        // (b,a) = (98,97) beats (Ġa,b) = (260,98).
        var model = new BpeTrainer(vocabSize: 263, minFrequency: 1).Train(["ba ab"]);

        Assert.Equal(["Ġ a", "b a", "Ġa b"], MergeLines(model));
    }

    [Fact]
    public void Train_CountsOverlappingPairs_AndMergesLeftToRight()
    {
        // "aaaa": (a,a) occurs 3 times (overlapping) → "aa aa" → (aa,aa) once → "aaaa".
        var model = new BpeTrainer(vocabSize: 262, minFrequency: 1).Train(["aaaa"]);

        Assert.Equal(["a a", "aa aa"], MergeLines(model));
        var encoder = new BpeEncoder(model);
        Assert.Equal([261], encoder.Encode("aaaa"));
        Assert.Equal([260, 'a'], encoder.Encode("aaa"));
    }

    [Fact]
    public void Train_OnNoText_GivesTheByteAlphabetAndSpecialsOnly()
    {
        var model = new BpeTrainer(vocabSize: 300, minFrequency: 1).Train([]);

        Assert.Equal(260, model.VocabSize);
        Assert.Empty(model.Merges);
    }

    [Fact]
    public void Train_StopsAtTheRequestedVocabSize()
    {
        var model = new BpeTrainer(vocabSize: 300, minFrequency: 1).Train(TokenizerCorpus.Poems);

        Assert.Equal(300, model.VocabSize);
        Assert.Equal(300 - 260, model.Merges.Count);
    }

    [Fact]
    public void Train_MergesCjkCharactersIntoMultiCharacterTokens()
    {
        var model = new BpeTrainer(vocabSize: 600, minFrequency: 2).Train(TokenizerCorpus.Poems);
        var tokenizer = TextTokenizer.FromModel(model);

        // 明月 occurs three times across the poems and is learned as one token.
        var ids = tokenizer.Encode("明月");
        Assert.Single(ids);
        Assert.Equal("明月", tokenizer.Decode(ids));
    }

    [Fact]
    public void Train_NeverLearnsFromSpecialTokensInTheText()
    {
        var documents = Enumerable.Repeat("<|endoftext|><|im_start|>hi<|im_end|><|pad|>", 50).ToArray();
        var model = new BpeTrainer(vocabSize: 400, minFrequency: 1).Train(documents);

        Assert.Equal(["h i"], MergeLines(model));
    }

    [Fact]
    public void SavedFiles_AreByteIdentical_ForTheSameDataAndConfig()
    {
        using var temp = new TempDir();
        var corpus = TokenizerCorpus.Poems.Concat(TokenizerCorpus.Awkward).ToArray();
        new BpeTrainer(500, 1).Train(corpus).Save(temp.File("a"));
        new BpeTrainer(500, 1).Train(corpus).Save(temp.File("b"));

        foreach (var file in new[] { BpeModel.VocabFile, BpeModel.MergesFile, BpeModel.ConfigFile })
            Assert.Equal(File.ReadAllBytes(Path.Combine(temp.File("a"), file)), File.ReadAllBytes(Path.Combine(temp.File("b"), file)));
    }

    [Fact]
    public void SaveThenLoad_ReturnsTheSameModel_InGpt2Format()
    {
        using var temp = new TempDir();
        var model = new BpeTrainer(400, 1).Train(TokenizerCorpus.Poems);
        model.Save(temp.Path);

        var loaded = BpeModel.Load(temp.Path);
        Assert.Equal(model.Tokens, loaded.Tokens);
        Assert.Equal(model.Merges, loaded.Merges);
        var merges = File.ReadAllLines(temp.File(BpeModel.MergesFile));
        Assert.Equal("#version: 0.2", merges[0]);
        Assert.Equal(model.Merges.Count + 1, merges.Length);
        Assert.Contains("\"<|endoftext|>\": 256", File.ReadAllText(temp.File(BpeModel.VocabFile)));
        Assert.Contains("Ġ", File.ReadAllText(temp.File(BpeModel.VocabFile)));   // space byte in GPT-2's printable form
        Assert.Contains("<|im_start|>", File.ReadAllText(temp.File(BpeModel.ConfigFile)));
    }

    [Fact]
    public void Load_ReportsAMissingTokenizerFolder_AsAStageInputError()
    {
        using var temp = new TempDir();
        var error = Assert.Throws<MiniLlmPipeline.IO.StageInputException>(() => TextTokenizer.Load(temp.File("nope")));
        Assert.Contains("vocab.json", error.Message);
    }

    [Fact]
    public void Load_RejectsAMergeOfUnknownTokens_NamingTheLine()
    {
        using var temp = new TempDir();
        new BpeTrainer(300, 1).Train(TokenizerCorpus.Poems).Save(temp.Path);
        File.AppendAllText(temp.File(BpeModel.MergesFile), "nosuch token\n");

        var error = Assert.Throws<MiniLlmPipeline.IO.StageInputException>(() => TextTokenizer.Load(temp.Path));
        Assert.Contains($"{BpeModel.MergesFile}:{300 - 260 + 2}", error.Message);
    }
}
