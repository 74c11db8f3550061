using MiniLlmPipeline.Evaluation;

namespace MiniLlmPipeline.Tests.Evaluation;

public class PoetryFormCheckerTests
{
    private const string JingYeSi = "床前明月光，疑是地上霜。\n举头望明月，低头思故乡。";
    private const string DengGuanQueLou = "白日依山尽，黄河入海流。\n欲穷千里目，更上一层楼。";
    private const string ZaoFaBaiDiCheng = "朝辞白帝彩云间，千里江陵一日还。\n两岸猿声啼不住，轻舟已过万重山。";
    private const string QingMing = "清明时节雨纷纷，路上行人欲断魂。\n借问酒家何处有？牧童遥指杏花村。";
    private const string ChunWang = "国破山河在，城春草木深。\n感时花溅泪，恨别鸟惊心。\n烽火连三月，家书抵万金。\n白头搔更短，浑欲不胜簪。";
    private const string DengGao = "风急天高猿啸哀，渚清沙白鸟飞回。\n无边落木萧萧下，不尽长江滚滚来。\n"
                                   + "万里悲秋常作客，百年多病独登台。\n艰难苦恨繁霜鬓，潦倒新停浊酒杯。";

    [Theory]
    [InlineData("五绝", JingYeSi)]
    [InlineData("五言绝句", DengGuanQueLou)]
    [InlineData("七绝", ZaoFaBaiDiCheng)]
    [InlineData("七言绝句", QingMing)]
    [InlineData("五律", ChunWang)]
    [InlineData("七律", DengGao)]
    public void RealPoems_AreCompliantWithFullScore(string form, string poem)
    {
        var check = PoetryFormChecker.Check(form, poem);

        Assert.True(check.Compliant, check.Reason);
        Assert.Equal(1.0, check.Score);
        Assert.Equal("ok", check.Reason);
    }

    [Theory]
    [InlineData("  \n床前明月光，疑是地上霜。举头望明月，低头思故乡。\n\n")]
    [InlineData("床前明月光，\n疑是地上霜。\n举头望明月，\n低头思故乡。")]
    [InlineData("床前明月光, 疑是地上霜. 举头望明月, 低头思故乡.")]
    [InlineData("“床前明月光，疑是地上霜。”\r\n举头望明月，低头思故乡。")]
    public void Layout_WhitespaceAndQuotes_DoNotMatter(string text) =>
        Assert.True(PoetryFormChecker.Check("五绝", text).Compliant);

    /// <summary>Score = (line-count part + mean line-length part + punctuation part) / 3, worked out by hand.</summary>
    [Theory]
    // a 6-character verse: line part (0.8 + 1 + 1 + 1) / 4
    [InlineData("五绝", "床前明月光光，疑是地上霜。\n举头望明月，低头思故乡。", (1 + 0.95 + 1) / 3, "line 1 has 6 characters, expected 5")]
    // 3 of 4 verses: each part 3/4
    [InlineData("五绝", "床前明月光，疑是地上霜。\n举头望明月，", 0.75, "expected 4 lines, found 3")]
    // a quatrain where 8 verses are wanted: each part 1/2
    [InlineData("五律", JingYeSi, 0.5, "expected 8 lines, found 4")]
    // 7 characters where 5 are wanted: 1 − 2/5 a verse
    [InlineData("五绝", ZaoFaBaiDiCheng, (1 + 0.6 + 1) / 3, "line 1 has 7 characters, expected 5")]
    // one verse a line, no punctuation: the punctuation third is lost
    [InlineData("五绝", "床前明月光\n疑是地上霜\n举头望明月\n低头思故乡", 2.0 / 3, "line 1 ends with no mark")]
    // an unpunctuated run-on is one 20-character verse: count 1 − 3/4, nothing else
    [InlineData("五绝", "床前明月光疑是地上霜举头望明月低头思故乡", 0.25 / 3, "expected 4 lines, found 1")]
    // 。 after the first verse of a couplet
    [InlineData("五绝", "床前明月光。疑是地上霜。\n举头望明月，低头思故乡。", (1 + 1 + 0.75) / 3, "line 1 ends with '。'")]
    // a non-Han character: verse 1 scores 1 − (1 + 1) / 5 = 0.6
    [InlineData("五绝", "床前明月A，疑是地上霜。\n举头望明月，低头思故乡。", (1 + 0.9 + 1) / 3, "line 1 has 1 non-Han character(s)")]
    public void BrokenPoems_GetHandComputedPartialScores(string form, string text, double expected, string reason)
    {
        var check = PoetryFormChecker.Check(form, text);

        Assert.False(check.Compliant);
        Assert.Equal(expected, check.Score, 12);
        Assert.Contains(reason, check.Reason);
    }

    [Fact]
    public void SemicolonClosesAnInnerCoupletButNotTheLast()
    {
        Assert.True(PoetryFormChecker.Check("五绝", "床前明月光，疑是地上霜；举头望明月，低头思故乡。").Compliant);
        Assert.False(PoetryFormChecker.Check("五绝", "床前明月光，疑是地上霜。举头望明月，低头思故乡；").Compliant);
    }

    [Fact]
    public void NonHanCharacters_AreNotVerseCharacters()
    {
        var check = PoetryFormChecker.Check("五绝", "床前明月A，疑是地上霜。\n举头望明月，低头思故乡。");

        Assert.False(check.Compliant);
        // line 1: 4 Han + 1 other → 1 − (1 + 1) / 5 = 0.6
        Assert.Equal((1 + 0.9 + 1) / 3, check.Score, 12);
        Assert.Contains("non-Han", check.Reason);
    }

    [Theory]
    [InlineData("")]
    [InlineData("   \n\t ")]
    [InlineData("，。")]
    public void EmptyText_ScoresZero(string text)
    {
        var check = PoetryFormChecker.Check("七律", text);

        Assert.False(check.Compliant);
        Assert.Equal(0, check.Score);
    }

    [Fact]
    public void Prose_ScoresLow()
    {
        var prose = "今天天气很好，我们一起去公园散步吧。公园里有很多人在跑步，还有小朋友在放风筝，大家都很开心。";

        var check = PoetryFormChecker.Check("七绝", prose);

        Assert.False(check.Compliant);
        Assert.InRange(check.Score, 0.0, 0.75);
    }

    [Fact]
    public void Score_StaysInUnitInterval_ForAbsurdlyLongText()
    {
        var check = PoetryFormChecker.Check("五绝", string.Concat(Enumerable.Repeat("一二三四五六七八九十，", 50)));

        Assert.InRange(check.Score, 0.0, 1.0);
    }

    [Fact]
    public void Split_CountsSupplementaryPlaneCharactersOnce()
    {
        var verses = PoetryFormChecker.Split("𬬻剑光寒夜，");

        Assert.Equal(5, Assert.Single(verses).HanCount);
    }
}
