using MiniLlmPipeline.Data;
using MiniLlmPipeline.Evaluation;

namespace MiniLlmPipeline.Tests.Data;

/// <summary>The committed corpora (data/tang from `make data`, data/tiny for pipelines/tiny.yaml) are what the stages expect.</summary>
public class ShippedDatasetsTests
{
    public static TheoryData<string> Corpora => new() { "tang", "tiny" };

    private static string File(string corpus, string name) => RepoPaths.Under("data", corpus, name);

    [Theory]
    [MemberData(nameof(Corpora))]
    public void EveryFile_LoadsWithItsColumns_AndHasRows(string corpus)
    {
        Assert.NotEmpty(ParquetDatasets.ReadText(File(corpus, "pretrain.parquet")));
        Assert.NotEmpty(ParquetDatasets.ReadText(File(corpus, "pretrain_val.parquet")));
        Assert.NotEmpty(ParquetDatasets.ReadSft(File(corpus, "sft.parquet")));
        Assert.NotEmpty(ParquetDatasets.ReadSft(File(corpus, "sft_val.parquet")));
        Assert.NotEmpty(ParquetDatasets.ReadPreferences(File(corpus, "preferences.parquet")));
        Assert.NotEmpty(ParquetDatasets.ReadPreferences(File(corpus, "preferences_val.parquet")));
        var prompts = ParquetDatasets.ReadPrompts(File(corpus, "prompts.parquet"), "form", "title");
        Assert.All(prompts, p => Assert.Equal(PoetryForm.Parse(p.Get("form")!), PoetryForm.FindIn(p.Prompt)));
        Assert.All(prompts, p => Assert.Contains($"《{p.Get("title")}》", p.Prompt));
        var rlPrompts = ParquetDatasets.ReadPrompts(File(corpus, "rl_prompts.parquet"), "form", "title");
        Assert.NotEmpty(rlPrompts);
        Assert.All(rlPrompts, p => Assert.Equal(PoetryForm.Parse(p.Get("form")!), PoetryForm.FindIn(p.Prompt)));
        Assert.All(rlPrompts, p => Assert.Contains($"《{p.Get("title")}》", p.Prompt));
    }

    [Fact]
    public void RlPrompts_AskForEveryFormAboutEquallyOften_MostlyNotTheFormOfTheirTitlesPoem()
    {
        var prompts = ParquetDatasets.ReadPrompts(File("tang", "rl_prompts.parquet"), "form", "title");
        Assert.Equal(12_000, prompts.Count);
        Assert.All(PoetryForm.All, f => Assert.InRange(prompts.Count(p => p.Get("form") == f.ShortName), 2_700, 3_300));

        // Titles come from training poems; the form asked for is drawn apart from the poem's own, so for a title with
        // one regular-form poem it matches only about a quarter of the time.
        var formOfTitle = ParquetDatasets.ReadText(File("tang", "pretrain.parquet"))
            .Select(t => (Title: t.Split('\n')[0][1..^1], Form: PoetryForm.Classify(Body(t))))
            .GroupBy(x => x.Title).Where(g => g.Count() == 1 && g.Single().Form is not null)
            .ToDictionary(g => g.Key, g => g.Single().Form!);
        var known = prompts.Where(p => formOfTitle.ContainsKey(p.Get("title")!)).ToList();
        Assert.True(known.Count > 1_000, $"{known.Count} prompts whose title names one regular poem");
        var same = known.Count(p => formOfTitle[p.Get("title")!].ShortName == p.Get("form"));
        Assert.InRange((double)same / known.Count, 0.2, 0.3);
        Assert.DoesNotContain(prompts, p => p.Prompt.StartsWith("给出首句", StringComparison.Ordinal));
    }

    [Theory]
    [MemberData(nameof(Corpora))]
    public void PretrainTexts_AreTitleLineThenBody(string corpus)
    {
        foreach (var text in ParquetDatasets.ReadText(File(corpus, "pretrain.parquet")).Take(500))
        {
            var lines = text.Split('\n');
            Assert.Matches("^《[^《》]+》$", lines[0]);
            Assert.True(lines.Length >= 2, text);
        }
    }

    [Theory]
    [MemberData(nameof(Corpora))]
    public void SftResponsesAndChosenAnswers_HaveTheFormTheirPromptNames(string corpus)
    {
        var sft = ParquetDatasets.ReadSft(File(corpus, "sft.parquet")).Concat(ParquetDatasets.ReadSft(File(corpus, "sft_val.parquet")));
        foreach (var example in sft)
        {
            var (prompt, response) = (example.Messages[0].Content, example.Messages[^1].Content);
            var form = PoetryForm.FindIn(prompt) ?? throw new Xunit.Sdk.XunitException($"no form named in '{prompt}'");
            var check = PoetryFormChecker.Check(form, response);
            Assert.True(check.Compliant, $"{prompt}: {check.Reason}");
        }

        var preferences = ParquetDatasets.ReadPreferences(File(corpus, "preferences.parquet"))
            .Concat(ParquetDatasets.ReadPreferences(File(corpus, "preferences_val.parquet")));
        foreach (var pair in preferences)
        {
            Assert.True(PoetryFormChecker.Check(PoetryForm.FindIn(pair.Prompt)!, pair.Chosen).Compliant, pair.Prompt);
            Assert.NotEqual(pair.Chosen, pair.Rejected);
        }
    }

    [Theory]
    [MemberData(nameof(Corpora))]
    public void ValidationAndHeldOutPoems_NeverAppearInTraining(string corpus)
    {
        var validationTexts = ParquetDatasets.ReadText(File(corpus, "pretrain_val.parquet")).ToList();
        var validationBodies = validationTexts.Select(Body).ToHashSet();
        var sftTrain = ParquetDatasets.ReadSft(File(corpus, "sft.parquet")).Select(e => e.Messages[^1].Content).ToHashSet();
        var preferenceTrain = ParquetDatasets.ReadPreferences(File(corpus, "preferences.parquet")).Select(p => p.Chosen).ToHashSet();
        var pretrainBodies = ParquetDatasets.ReadText(File(corpus, "pretrain.parquet")).Select(Body).ToHashSet();

        Assert.Empty(validationBodies.Intersect(pretrainBodies));
        Assert.Empty(validationBodies.Intersect(sftTrain));
        Assert.Empty(validationBodies.Intersect(preferenceTrain));
        Assert.Empty(ParquetDatasets.ReadSft(File(corpus, "sft_val.parquet")).Select(e => e.Messages[^1].Content).Intersect(sftTrain));
        Assert.Empty(ParquetDatasets.ReadPreferences(File(corpus, "preferences_val.parquet")).Select(p => p.Chosen).Intersect(preferenceTrain));
        // SFT and preference training pairs come from different poems.
        Assert.Empty(sftTrain.Intersect(preferenceTrain));
    }

    [Fact]
    public void HeldOutPrompts_AreTitlesOfValidationPoems_BalancedOverForms()
    {
        var validationTitles = ParquetDatasets.ReadText(File("tang", "pretrain_val.parquet")).Select(t => t.Split('\n')[0]).ToHashSet();
        var prompts = ParquetDatasets.ReadPrompts(File("tang", "prompts.parquet"), "form", "title");

        Assert.All(prompts, p => Assert.Contains($"《{p.Get("title")}》", validationTitles));
        Assert.All(prompts.GroupBy(p => p.Get("form")), g => Assert.Equal(prompts.Count / 4, g.Count()));
        Assert.Equal(4, prompts.Select(p => p.Get("form")).Distinct().Count());
    }

    [Fact]
    public void TinyCorpus_HasTheSizesTheTinyPipelineIsTunedFor()
    {
        Assert.Equal(300, ParquetDatasets.ReadText(File("tiny", "pretrain.parquet")).Count());
        Assert.Equal(40, ParquetDatasets.ReadText(File("tiny", "pretrain_val.parquet")).Count());
        Assert.Equal(120, ParquetDatasets.ReadSft(File("tiny", "sft.parquet")).Count);
        Assert.Equal(24, ParquetDatasets.ReadSft(File("tiny", "sft_val.parquet")).Count);
        Assert.Equal(120, ParquetDatasets.ReadPreferences(File("tiny", "preferences.parquet")).Count);
        Assert.Equal(24, ParquetDatasets.ReadPreferences(File("tiny", "preferences_val.parquet")).Count);
        Assert.Equal(16, ParquetDatasets.ReadPrompts(File("tiny", "prompts.parquet")).Count);
        Assert.Equal(120, ParquetDatasets.ReadPrompts(File("tiny", "rl_prompts.parquet")).Count);
    }

    private static string Body(string pretrainText) => pretrainText[(pretrainText.IndexOf('\n') + 1)..];
}
