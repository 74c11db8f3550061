using MiniLlmPipeline.Tokenization;

namespace MiniLlmPipeline.Tests.Tokenization;

public sealed class TextTokenizerTests
{
    private static readonly Lazy<(TextTokenizer Tokenizer, BpeEncoder Reference)> Trained = new(() =>
    {
        using var temp = new TempDir();
        new BpeTrainer(700, 1).Train([.. TokenizerCorpus.Poems, .. TokenizerCorpus.Awkward]).Save(temp.Path);
        var tokenizer = TextTokenizer.Load(temp.Path);
        return (tokenizer, new BpeEncoder(tokenizer.Model));
    });

    public static TheoryData<string> AllStrings() => [.. TokenizerCorpus.Poems, .. TokenizerCorpus.Awkward];

    [Theory]
    [MemberData(nameof(AllStrings))]
    public void EncodeThenDecode_ReturnsTheText_WithIdsInsideTheVocabulary(string text)
    {
        var tokenizer = Trained.Value.Tokenizer;
        var ids = tokenizer.Encode(text);

        Assert.All(ids, id => Assert.InRange(id, 0, tokenizer.VocabSize - 1));
        Assert.Equal(text, tokenizer.Decode(ids));
    }

    [Theory]
    [MemberData(nameof(AllStrings))]
    public void MlTokenizersIds_EqualTheTrainersOwnEncoding(string text)
    {
        var (tokenizer, reference) = Trained.Value;
        Assert.Equal(reference.Encode(text), tokenizer.Encode(text));
    }

    [Fact]
    public void BytesOnlyTokenizer_StillRoundTripsAnyText()
    {
        var tokenizer = TextTokenizer.FromModel(BpeModel.BytesOnly());
        foreach (var text in TokenizerCorpus.Awkward.Where(t => !SpecialTokens.All.Any(t.Contains)))
        {
            var ids = tokenizer.Encode(text);
            Assert.Equal(System.Text.Encoding.UTF8.GetByteCount(text), ids.Count);
            Assert.Equal(text, tokenizer.Decode(ids));
        }
    }

    [Fact]
    public void SpecialTokens_AreNeverSplit_AndKeepFixedIds()
    {
        var tokenizer = Trained.Value.Tokenizer;
        var ids = tokenizer.Encode("春<|im_start|>user\n<|im_end|><|endoftext|><|pad|>x<|endoftext|>");

        Assert.Equal((256, 257, 258, 259), (tokenizer.EndOfTextId, tokenizer.ImStartId, tokenizer.ImEndId, tokenizer.PadId));
        Assert.Equal(1, ids.Count(id => id == tokenizer.ImStartId));
        Assert.Equal(1, ids.Count(id => id == tokenizer.ImEndId));
        Assert.Equal(2, ids.Count(id => id == tokenizer.EndOfTextId));
        Assert.Equal(1, ids.Count(id => id == tokenizer.PadId));
        Assert.Equal(tokenizer.ImStartId, ids[ids.ToList().IndexOf(tokenizer.ImStartId)]);
        Assert.Equal([tokenizer.EndOfTextId, tokenizer.PadId], ids.Skip(ids.ToList().IndexOf(tokenizer.ImEndId) + 1).Take(2));
    }

    [Fact]
    public void Decode_DropsSpecialTokens_OnlyWhenAsked()
    {
        var tokenizer = Trained.Value.Tokenizer;
        var ids = tokenizer.Encode("<|im_start|>花落<|im_end|>");

        Assert.Equal("<|im_start|>花落<|im_end|>", tokenizer.Decode(ids));
        Assert.Equal("花落", tokenizer.Decode(ids, skipSpecialTokens: true));
    }

    [Fact]
    public void Decode_RejectsIdsOutsideTheVocabulary()
    {
        var tokenizer = Trained.Value.Tokenizer;
        Assert.Throws<ArgumentOutOfRangeException>(() => tokenizer.Decode([1, tokenizer.VocabSize]));
    }

    [Theory]
    [MemberData(nameof(AllStrings))]
    public void PreTokens_ConcatenateBackToTheText(string text)
    {
        var pieces = PreTokenSplitter.Split(text);
        Assert.Equal(text, string.Concat(pieces.Select(p => text.Substring(p.Offset, p.Length))));
        Assert.All(pieces, p => Assert.False(char.IsLowSurrogate(text[p.Offset])));
    }

    [Fact]
    public void PreTokenSplitter_KeepsACjkRunTogether_AndPunctuationApart()
    {
        const string text = "床前明月光，疑是地上霜。\nhello world";
        var pieces = PreTokenSplitter.Split(text).Select(p => text.Substring(p.Offset, p.Length));
        Assert.Equal(["床前明月光", "，", "疑是地上霜", "。\n", "hello", " world"], pieces);
    }
}
