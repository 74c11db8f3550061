using MiniLlmPipeline.Evaluation;

namespace MiniLlmPipeline.Tests.Evaluation;

public class PoetryFormTests
{
    [Theory]
    [InlineData("五绝", 4, 5)]
    [InlineData("五言绝句", 4, 5)]
    [InlineData(" 五律 ", 8, 5)]
    [InlineData("五言律诗", 8, 5)]
    [InlineData("七绝", 4, 7)]
    [InlineData("七言绝句", 4, 7)]
    [InlineData("七律", 8, 7)]
    [InlineData("七言律诗", 8, 7)]
    public void Parse_AcceptsShortAndLongNames(string name, int lines, int chars)
    {
        var form = PoetryForm.Parse(name);

        Assert.Equal((lines, chars), (form.Lines, form.CharsPerLine));
    }

    [Fact]
    public void Parse_RejectsUnknownForm_NamingTheChoices()
    {
        var error = Assert.Throws<ArgumentException>(() => PoetryForm.Parse("宋词"));

        Assert.Contains("宋词", error.Message);
        Assert.Contains("七言律诗", error.Message);
    }

    [Theory]
    [InlineData("以《春望》为题写一首五言律诗", "五律")]
    [InlineData("写一首七言绝句，题为《早发白帝城》", "七绝")]
    [InlineData("给出首句，续写这首五言绝句：床前明月光，", "五绝")]
    [InlineData("以《府酒五绝 自劝》为题写一首七言绝句", "七绝")]
    [InlineData("写一首七绝", "七绝")]
    public void FindIn_ReadsTheFormAPromptAsksFor(string prompt, string expected) =>
        Assert.Equal(expected, PoetryForm.FindIn(prompt)?.ShortName);

    [Fact]
    public void FindIn_ReturnsNull_WhenNoFormIsNamed() => Assert.Null(PoetryForm.FindIn("写一首诗，题为《五绝》"));

    [Fact]
    public void FindIn_ReturnsNull_WhenTwoFormsAreNamed() => Assert.Null(PoetryForm.FindIn("写一首五言绝句或七言绝句"));
}
