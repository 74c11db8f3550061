using MiniLlmPipeline.IO;
using MiniLlmPipeline.Pipeline;
using MiniLlmPipeline.Stages.Distill;

namespace MiniLlmPipeline.Tests.Pipeline;

/// <summary>The distill block at load: the student's model block, its range checks, and the shipped distillation spec.</summary>
public sealed class DistillSpecTests
{
    private const string Spec = """
        name: demo
        model: { d_model: 64, n_layers: 2, n_heads: 4, n_kv_heads: 2, ffn_hidden: 128, max_seq_len: 64 }
        stages:
          tokenize: { data: corpus.parquet, vocab_size: 512 }
          pretrain: { steps: 30 }
          sft: { data: sft.parquet }
          distill:
            teacher: sft
            data: sft.parquet
            model: { d_model: 32, ffn_hidden: 64 }
        """;

    private static PipelineSpec Parse(string yaml, params string[] overrides) => PipelineSpecLoader.Parse(yaml, "spec.yaml", overrides);

    private static string ErrorOf(string yaml, params string[] overrides) =>
        Assert.Throws<PipelineConfigException>(() => Parse(yaml, overrides)).Message;

    [Fact]
    public void StudentModel_TakesTheKeysItLeavesOutFromThePipelinesModel()
    {
        var spec = Parse(Spec);
        var student = spec.ModelOf(StageCatalog.Distill.Name);
        Assert.Equal((32, 64, 2, 4, 2, 64), (student.DModel, student.FfnHidden, student.NLayers, student.NHeads, student.NKvHeads, student.MaxSeqLen));
        // Every other stage's checkpoint is checked against the pipeline's model.
        Assert.Same(spec.Model, spec.ModelOf(StageCatalog.Sft.Name));
        Assert.Equal(64, spec.Model.DModel);
        // A --set reaches the student alone; without a model: of its own the student is the pipeline's shape.
        Assert.Equal(16, Parse(Spec, "distill.model.d_model=16").ModelOf("distill").DModel);
        Assert.Equal(spec.Model, Parse(Spec.Replace("    model: { d_model: 32, ffn_hidden: 64 }", "")).ModelOf("distill"));
    }

    [Fact]
    public void Defaults_AreTheSftTeacherOnConversations_AtTauTwoAndAlphaHalf()
    {
        var config = Parse(Spec).ConfigOf(StageCatalog.Distill)!;
        Assert.Equal(("sft", "tokenize", DistillConfig.Conversations, 2.0, 0.5), (config.Teacher, config.From, config.Dataset, config.Temperature, config.Alpha));
    }

    [Theory]
    [InlineData("distill.temperature=0", "stages.distill.temperature: must be a positive number")]
    [InlineData("distill.temperature=-1", "stages.distill.temperature: must be a positive number")]
    [InlineData("distill.temperature=nan", "stages.distill.temperature: expected a number, got 'nan'")]
    [InlineData("distill.temperature=inf", "stages.distill.temperature: expected a number, got 'inf'")]
    [InlineData("distill.alpha=-0.1", "stages.distill.alpha: must be in [0, 1]")]
    [InlineData("distill.alpha=1.5", "stages.distill.alpha: must be in [0, 1]")]
    [InlineData("distill.dataset=poems", "stages.distill.dataset: must be 'conversations' or 'text'")]
    [InlineData("distill.data=null", "stages.distill.data: dataset 'conversations' needs a messages")]
    [InlineData("distill.model.n_heads=5", "stages.distill.model.n_heads: must divide d_model (32)")]
    [InlineData("distill.lora.rank=4", "stages.distill.lora: the student starts from random weights")]
    [InlineData("distill.keep=best", "stages.distill.keep: best needs validation data")]
    [InlineData("distill.teacher=nonesuch", "stages.distill.teacher: 'nonesuch' cannot be used here")]
    [InlineData("distill.teacher=tokenize", "stages.distill.teacher: 'tokenize' cannot be used here")]
    [InlineData("distill.teacher=dpo", "stages.distill.teacher: names stage 'dpo', which this spec does not define")]
    [InlineData("distill.from=sft", "stages.distill.from: 'sft' cannot be used here")]
    public void BadDistillSettings_AreConfigErrorsNamingFileAndKey(string set, string expected)
    {
        var message = ErrorOf(Spec, set);
        Assert.StartsWith("spec.yaml", message);
        Assert.Contains(expected, message);
    }

    [Fact]
    public void TextDataset_NeedsNoDataFile_AndHasTheTokenizeStagesValidation()
    {
        var config = Parse(Spec, "distill.dataset=text", "distill.data=null").ConfigOf(StageCatalog.Distill)!;
        Assert.True(config.HasValidationData);
        Assert.False(Parse(Spec).ConfigOf(StageCatalog.Distill)!.HasValidationData);
    }

    [Fact]
    public void ShippedDistillSpec_ReusesTheDefaultPipelinesStages_AndHalvesTheWidth()
    {
        var defaults = PipelineSpecLoader.Load(RepoPaths.Under("pipelines", "tang-poetry.yaml"));
        var distill = PipelineSpecLoader.Load(RepoPaths.Under("pipelines", "tang-poetry-distill.yaml"));
        // The spec hash StageCli compares: a copy of the default run's tokenize, pretrain and sft is up to date here.
        foreach (var stage in new[] { "tokenize", "pretrain", "sft", "eval" })
            Assert.Equal(ContentHash.OfConfig(new { config = defaults.Stages[stage], defaults.Model, defaults.Seed }),
                ContentHash.OfConfig(new { config = distill.Stages[stage], distill.Model, distill.Seed }));
        Assert.Equal(["tokenize", "pretrain", "sft", "distill", "eval"], distill.Stages.Keys);
        Assert.False(defaults.Defines(StageCatalog.Distill.Name));
        var student = distill.ModelOf(StageCatalog.Distill.Name);
        Assert.Equal((defaults.Model.DModel / 2, defaults.Model.FfnHidden / 2, defaults.Model.NLayers), (student.DModel, student.FfnHidden, student.NLayers));
        Assert.Equal(("sft", DistillConfig.Conversations), (distill.ConfigOf(StageCatalog.Distill)!.Teacher, distill.ConfigOf(StageCatalog.Distill)!.Dataset));
    }
}
