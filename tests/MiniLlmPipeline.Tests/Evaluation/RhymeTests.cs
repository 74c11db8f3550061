using MiniLlmPipeline.Data;
using MiniLlmPipeline.Evaluation;
using Xunit.Abstractions;

namespace MiniLlmPipeline.Tests.Evaluation;

/// <summary>
/// Rhyme beside the form verdict: the embedded 十三辙 table, the even-verse rule on real poems (their endings' tracks
/// worked out by hand from their modern readings), broken and short poems, and the ceiling on the held-out poems.
/// </summary>
public class RhymeTests(ITestOutputHelper output)
{
    // Even-verse endings and their tracks in modern Mandarin:
    private const string JingYeSi = "床前明月光，疑是地上霜。\n举头望明月，低头思故乡。"; // 霜 uang, 乡 iang: 江阳
    private const string ChunXiao = "春眠不觉晓，处处闻啼鸟。\n夜来风雨声，花落知多少。"; // 鸟 iao, 少 ao: 遥条
    private const string DengGuanQueLou = "白日依山尽，黄河入海流。\n欲穷千里目，更上一层楼。"; // 流 iou, 楼 ou: 油求
    private const string ZaoFaBaiDiCheng = "朝辞白帝彩云间，千里江陵一日还。\n两岸猿声啼不住，轻舟已过万重山。"; // 还 huan/hai, 山 an: 言前
    private const string QingMing = "清明时节雨纷纷，路上行人欲断魂。\n借问酒家何处有？牧童遥指杏花村。"; // 魂, 村 uen: 人辰
    private const string ShanJuQiuMing = "空山新雨后，天气晚来秋。\n明月松间照，清泉石上流。\n竹喧归浣女，莲动下渔舟。\n随意春芳歇，王孙自可留。"; // 秋 流 舟 留: 油求
    private const string ShuXiang = "丞相祠堂何处寻，锦官城外柏森森。\n映阶碧草自春色，隔叶黄鹂空好音。\n"
                                    + "三顾频烦天下计，两朝开济老臣心。\n出师未捷身先死，长使英雄泪满襟。"; // 森 en, 音 心 襟 in: 人辰
    private const string HuangHeLou = "昔人已乘黄鹤去，此地空余黄鹤楼。\n黄鹤一去不复返，白云千载空悠悠。\n"
                                      + "晴川历历汉阳树，芳草萋萋鹦鹉洲。\n日暮乡关何处是？烟波江上使人愁。"; // 楼 悠 洲 愁: 油求

    // Real poems that rhymed in Middle Chinese (平水韵) but not all in modern Mandarin: the ceiling's reason.
    private const string DengGao = "风急天高猿啸哀，渚清沙白鸟飞回。\n无边落木萧萧下，不尽长江滚滚来。\n"
                                   + "万里悲秋常作客，百年多病独登台。\n艰难苦恨繁霜鬓，潦倒新停浊酒杯。"; // 回 杯 灰堆, 来 台 怀来 (上平十灰)
    private const string ChunWang = "国破山河在，城春草木深。\n感时花溅泪，恨别鸟惊心。\n烽火连三月，家书抵万金。\n白头搔更短，浑欲不胜簪。"; // 深 心 金 人辰, 簪 zan 言前 (下平十二侵)

    [Fact]
    public void Table_IsEmbedded_AndHoldsTheBmpCharacters()
    {
        var table = RhymeTable.Default;

        Assert.InRange(table.Count, 20_000, 21_000);
        Assert.Equal(["江阳"], table.GroupsOf("光"));
        Assert.Equal(["一七"], table.GroupsOf("雨")); // yu is ü, not the u pinyin-pro's final pattern gives
        Assert.Equal(["乜斜"], table.GroupsOf("也")); // ye is ie, not e
        Assert.Equal(["一七"], table.GroupsOf("日")); // -i
        Assert.Equal(["中东", "江阳"], table.GroupsOf("行")); // xing/heng, hang
        Assert.Empty(table.GroupsOf("㐀")); // Extension A: outside the table
        Assert.Empty(table.GroupsOf("光霜"));
        Assert.Empty(table.GroupsOf(""));
    }

    [Theory]
    [InlineData("五绝", JingYeSi, "江阳")]
    [InlineData("五绝", ChunXiao, "遥条")]
    [InlineData("五绝", DengGuanQueLou, "油求")]
    [InlineData("七绝", ZaoFaBaiDiCheng, "言前")]
    [InlineData("七绝", QingMing, "人辰")]
    [InlineData("五律", ShanJuQiuMing, "油求")]
    [InlineData("七律", ShuXiang, "人辰")]
    [InlineData("七律", HuangHeLou, "油求")]
    public void RealPoems_Rhyme(string form, string poem, string group)
    {
        var check = PoetryFormChecker.Check(form, poem);
        var rhyme = RhymeCheck.Of(PoetryForm.Parse(form), PoetryFormChecker.Split(poem));

        Assert.True(check.Rhymes);
        Assert.Equal(1.0, check.RhymeScore);
        Assert.Equal(group, rhyme.Group);
        Assert.True(check.Compliant, check.Reason);
    }

    /// <summary>Genuine Tang rhymes the modern tracks split: compliant, full form score, partial rhyme score.</summary>
    [Theory]
    [InlineData("七律", DengGao, 0.5)]
    [InlineData("五律", ChunWang, 0.75)]
    public void RealPoems_TheModernTracksSplit_RhymePartly(string form, string poem, double rhymeScore)
    {
        var check = PoetryFormChecker.Check(form, poem);

        Assert.False(check.Rhymes);
        Assert.Equal(rhymeScore, check.RhymeScore, 12);
        Assert.True(check.Compliant, check.Reason);
        Assert.Equal(1.0, check.Score);
        Assert.Equal("ok", check.Reason);
    }

    [Theory]
    [InlineData("床前明月光，疑是地上人。\n举头望明月，低头思故乡。", 0.5)] // 霜 → 人 (人辰)
    [InlineData("床前明月光，疑是地上人。\n举头望明月，低头思故土。", 0.5)] // 人 人辰, 土 姑苏: one each
    [InlineData("白日依山尽，黄河入海流。\n欲穷千里目，更上一层天。", 0.5)] // 楼 → 天 (言前)
    public void BrokenEndings_DoNotRhyme_AndKeepTheFormVerdict(string poem, double rhymeScore)
    {
        var check = PoetryFormChecker.Check("五绝", poem);

        Assert.False(check.Rhymes);
        Assert.Equal(rhymeScore, check.RhymeScore, 12);
        Assert.True(check.Compliant);
        Assert.Equal(1.0, check.Score);
        Assert.Equal("ok", check.Reason);
    }

    [Fact]
    public void Polyphonic_Ending_RhymesWithEitherReading()
    {
        // 行 is hang (江阳) beside 乡, xing (中东) beside 星.
        Assert.True(PoetryFormChecker.Check("五绝", "床前明月光，疑是地上霜。\n举头望明月，低头思故行。").Rhymes);
        Assert.True(PoetryFormChecker.Check("五绝", "床前明月光，夜深满天星。\n举头望明月，低头思远行。").Rhymes);
        // 还 huan (言前) beside 山, hai (怀来) beside 来.
        Assert.True(PoetryFormChecker.Check("五绝", "白日依山尽，黄河入海还。\n欲穷千里目，更上一层山。").Rhymes);
        Assert.True(PoetryFormChecker.Check("五绝", "白日依山尽，黄河入海还。\n欲穷千里目，更上一层来。").Rhymes);
    }

    [Theory]
    // The even verses of a 绝句 both end in 中: one ending, half the rhyme.
    [InlineData("五绝", "独夜寒林处，无看月老中。\n独向月思归，独风停得中。", 0.5)]
    // A 律诗 whose four even verses end 中, 中, 东, 中: two distinct endings of one track.
    [InlineData("五律", "禁席开中事，清军发舍中。\n天通钟雁水，秋泊老去中。\n仙马逢前路，心思喜在东。\n风中空月独，天影向来中。", 0.5)]
    public void RepeatedRhymeCharacter_CountsOnce(string form, string poem, double rhymeScore)
    {
        var check = PoetryFormChecker.Check(form, poem);

        Assert.False(check.Rhymes);
        Assert.Equal(rhymeScore, check.RhymeScore, 12);
        Assert.True(check.Compliant, check.Reason);
    }

    [Fact]
    public void CharacterMissingFromTheTable_NeverRhymes()
    {
        // 㐀 (U+3400) is Han but outside the table, so even two of it do not rhyme with each other.
        var check = PoetryFormChecker.Check("五绝", "床前明月光，疑是地上㐀。\n举头望明月，低头思故㐀。");
        Assert.False(check.Rhymes);
        Assert.Equal(0, check.RhymeScore);
        Assert.Equal(0.5, PoetryFormChecker.Check("五绝", "床前明月光，疑是地上㐀。\n举头望明月，低头思故乡。").RhymeScore);
        // A verse of no Han character has no ending.
        Assert.Equal(0.5, PoetryFormChecker.Check("五绝", "床前明月光，abc。\n举头望明月，低头思故乡。").RhymeScore);
    }

    [Fact]
    public void FewerVersesThanTheForm_CountTheMissingAsNotRhyming()
    {
        var asRegulated = PoetryFormChecker.Check("五律", JingYeSi); // 霜 乡 of 4 even verses
        Assert.False(asRegulated.Rhymes);
        Assert.Equal(0.5, asRegulated.RhymeScore);
        Assert.False(asRegulated.Compliant);

        var threeVerses = PoetryFormChecker.Check("五绝", "床前明月光，疑是地上霜。\n举头望明月，");
        Assert.Equal(0.5, threeVerses.RhymeScore);
        Assert.False(threeVerses.Rhymes);

        Assert.Equal(new FormCheck(false, 0, "no text"), PoetryFormChecker.Check("五绝", " \n "));
    }

    [Fact]
    public void VersesBeyondTheForm_AreIgnored()
    {
        var check = PoetryFormChecker.Check("五绝", JingYeSi + "\n白日依山尽，黄河入海流。");
        Assert.True(check.Rhymes);
        Assert.False(check.Compliant);
    }

    [Fact]
    public void Parse_RejectsAMalformedLine_NamingTheSourceAndLine()
    {
        var table = RhymeTable.Parse(new StringReader("# header\n光\tuang\t江阳\n行\ting,ang\t中东,江阳\n"), "t.tsv");
        Assert.Equal(2, table.Count);
        Assert.Equal(["中东", "江阳"], table.GroupsOf("行"));

        var e = Assert.Throws<InvalidDataException>(() => RhymeTable.Parse(new StringReader("# header\n光\tuang\n"), "t.tsv"));
        Assert.Contains("t.tsv line 2", e.Message);
        e = Assert.Throws<InvalidDataException>(() => RhymeTable.Parse(new StringReader("光\tuang\t江阳\n光\tuang\t江阳\n"), "t.tsv"));
        Assert.Contains("listed twice", e.Message);
    }

    [Fact]
    public void Comparison_RecordsRhymeRateBeforeAndAfter()
    {
        var comparison = new ComplianceComparison(new FormComplianceReport(4, 0.25, 0.5, [], 0.25, 0.07), new FormComplianceReport(4, 0.75, 0.9, [], 0.5, 0.15));
        var metrics = new Dictionary<string, double>();
        comparison.AddTo(metrics);

        Assert.Equal(0.25, metrics["rhyme_rate_before"]);
        Assert.Equal(0.5, metrics["rhyme_rate_after"]);
        Assert.Equal(0.75, metrics["compliance_after"]);
        Assert.Equal(0.07, metrics["repeated_chars_before"]);
        Assert.Equal(0.15, metrics["repeated_chars_after"]);
        Assert.Contains($"rhyme rate {0.25:P0} → {0.5:P0}", comparison.ToMarkdown("t"));
        Assert.Contains($"repeated characters {0.07:P0} → {0.15:P0}", comparison.ToMarkdown("t"));
        Assert.Equal(0, FormComplianceReport.Empty.RhymeRate);
    }

    [Fact]
    public void Ceiling_StripsTheTitle_AndSkipsIrregularPoems()
    {
        var (poems, rate) = RhymeCeiling.Of(["《静夜思》\n" + JingYeSi, "《登高》\n" + DengGao, "《x》\n白日依山尽。", ChunXiao]);
        Assert.Equal(3, poems);
        Assert.Equal(2 / 3.0, rate, 12);
        Assert.Equal((0, 0.0), RhymeCeiling.Of([]));
        var byForm = RhymeCeiling.ByForm(["《静夜思》\n" + JingYeSi, "《登高》\n" + DengGao]);
        Assert.Equal([(PoetryForm.FiveCharQuatrain, 1, 1.0), (PoetryForm.SevenCharRegulated, 1, 0.0)], byForm);
    }

    /// <summary>
    /// The ceiling on the shipped held-out poems, against controls whose even-verse endings are drawn at random from
    /// the same form's endings: real Tang poems must rhyme far more often than chance under the modern tracks.
    /// </summary>
    [Fact]
    public void HeldOutPoems_RhymeFarAboveShuffledEndings()
    {
        var texts = ParquetDatasets.ReadText(RepoPaths.Under("data", "tang", "pretrain_val.parquet")).ToList();
        var (poems, real) = RhymeCeiling.Of(texts);
        foreach (var (form, n, rate) in RhymeCeiling.ByForm(texts))
            output.WriteLine($"{form}: {n} poems, rhyme rate {rate:P1}");

        // Controls: every even verse's last character replaced by one drawn from all even-verse endings of that form.
        var regular = texts.Select(RhymeCeiling.Body)
            .Select(b => (Form: PoetryForm.Classify(b), Verses: PoetryFormChecker.Split(b)))
            .Where(p => p.Form is not null).ToList();
        var endings = PoetryForm.All.ToDictionary(f => f, _ => new List<string>());
        foreach (var (form, verses) in regular)
            for (var i = 1; i < verses.Count; i += 2)
                endings[form!].Add(LastRune(verses[i].Text));
        var random = new Random(1337);
        string Replace(Verse v, PoetryForm form)
        {
            var pool = endings[form];
            return v.Text[..^LastRune(v.Text).Length] + pool[random.Next(pool.Count)] + v.Mark;
        }
        var shuffled = regular.Select(p => string.Concat(p.Verses.Select((v, i) => i % 2 == 1 ? Replace(v, p.Form!) : v.ToString()))).ToList();
        var (controls, control) = RhymeCeiling.Of(shuffled);

        output.WriteLine($"all forms: {poems} poems, rhyme rate {real:P1}; shuffled endings: {control:P1}");
        Assert.Equal(poems, controls);
        Assert.True(poems >= 100, $"only {poems} regular poems in pretrain_val.parquet");
        Assert.True(real > 0.6, $"real poems rhyme at {real:P1}");
        Assert.True(real > control + 0.4, $"real {real:P1} vs shuffled {control:P1}");
    }

    private static string LastRune(string text) => text.EnumerateRunes().Last().ToString();
}
