using MiniLlmPipeline.Evaluation;

namespace MiniLlmPipeline.Tests.Evaluation;

public sealed class CharacterRepetitionTests
{
    [Theory]
    [InlineData("一是春中一是春", 3.0 / 7)]                          // 7 characters, 4 distinct
    [InlineData("床前明月光，疑是地上霜。举头望明月，低头思故乡。", 3.0 / 20)]   // 明, 月, 头 twice each: 17 distinct of 20
    [InlineData("白日依山尽，黄河入海流。", 0)]
    [InlineData("春春春春春", 4.0 / 5)]
    [InlineData("abc, abc!", 0)]                                // no Han characters: nothing repeats
    [InlineData("", 0)]
    public void RepeatedShare_IsOneMinusDistinctOverTotal_OfTheHanCharacters(string text, double expected) =>
        Assert.Equal(expected, CharacterRepetition.RepeatedShare(text), 12);

    [Fact]
    public void RepeatedShare_IgnoresPunctuationAndLatinLetters()
    {
        Assert.Equal(CharacterRepetition.RepeatedShare("一是春中一是春"), CharacterRepetition.RepeatedShare("一是, 春中。a一是b春！"), 12);
    }

    [Fact]
    public void OfRealPoems_DropsTheTitleLine_AndSkipsTextsThatAreNoRegularForm()
    {
        var (poems, share) = CharacterRepetition.OfRealPoems([
            "《静夜思》\n床前明月光，疑是地上霜。\n举头望明月，低头思故乡。",   // 3/20; the title's 静夜思 are not counted
            "白日依山尽，黄河入海流。欲穷千里目，更上一层楼。",                // 0
            "春春春春春春",                                                  // one verse: no regular form, skipped
        ]);
        Assert.Equal(2, poems);
        Assert.Equal((3.0 / 20 + 0) / 2, share, 12);
    }

    [Fact]
    public void Mean_OfNoTexts_IsZero() => Assert.Equal(0, CharacterRepetition.Mean([]));
}
