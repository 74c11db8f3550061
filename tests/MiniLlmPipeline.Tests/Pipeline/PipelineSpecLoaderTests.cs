using MiniLlmPipeline.IO;
using MiniLlmPipeline.Pipeline;

namespace MiniLlmPipeline.Tests.Pipeline;

public class PipelineSpecLoaderTests
{
    private const string ValidSpec = """
        name: demo
        seed: 7
        model: { d_model: 64, n_layers: 2, n_heads: 4, n_kv_heads: 2, ffn_hidden: 128, max_seq_len: 64 }
        stages:
          tokenize: { data: corpus.parquet, vocab_size: 512 }
          pretrain: { steps: 30, batch_size: 4, lr: 1.0e-3 }
          sft:
            from: pretrain
            data: sft.parquet
            lr: 5e-5
        """;

    private static PipelineSpec Parse(string yaml, params string[] overrides) =>
        PipelineSpecLoader.Parse(yaml, "spec.yaml", overrides);

    private static string ErrorOf(string yaml, params string[] overrides) =>
        Assert.Throws<PipelineConfigException>(() => Parse(yaml, overrides)).Message;

    [Fact]
    public void ValidSpec_BindsValuesAndKeepsDefaults()
    {
        var spec = Parse(ValidSpec);
        Assert.Equal("demo", spec.Name);
        Assert.Equal(7, spec.Seed);
        Assert.Equal(64, spec.Model.DModel);
        Assert.Equal(10000, spec.Model.RopeTheta);
        Assert.Equal(512, spec.ConfigOf(StageCatalog.Tokenize)!.VocabSize);
        Assert.Equal(30, spec.ConfigOf(StageCatalog.Pretrain)!.Steps);
        Assert.Equal(5e-5, spec.ConfigOf(StageCatalog.Sft)!.Lr);
        Assert.Equal("pretrain", spec.ConfigOf(StageCatalog.Sft)!.From);
        Assert.Null(spec.ConfigOf(StageCatalog.Dpo));
        Assert.Equal(Path.Combine("runs", "demo"), RunFolders.PipelineDir(spec));
    }

    [Fact]
    public void MalformedYaml_NamesFileAndLine()
    {
        var message = ErrorOf("name: demo\nstages:\n  sft: { data: [unclosed\n");
        Assert.StartsWith("spec.yaml:", message);
        Assert.Contains("malformed YAML", message);
    }

    [Fact]
    public void UnknownKey_NamesKeyPathAndLine()
    {
        var message = ErrorOf(ValidSpec.Replace("lr: 5e-5", "learning_rate: 5e-5"));
        Assert.Contains("spec.yaml:10:", message);
        Assert.Contains("unknown key 'stages.sft.learning_rate'", message);
        Assert.Contains("lr", message);
    }

    [Fact]
    public void UnknownStage_IsRejected()
    {
        var message = ErrorOf(ValidSpec + "\n  quantize: { data: x.parquet }\n");
        Assert.Contains("unknown stage 'stages.quantize'", message);
    }

    [Fact]
    public void WrongType_NamesExpectedTypeAndValue()
    {
        var message = ErrorOf(ValidSpec.Replace("lr: 5e-5", "lr: fast"));
        Assert.Contains("spec.yaml:10:", message);
        Assert.Contains("stages.sft.lr: expected a number, got 'fast'", message);
    }

    [Fact]
    public void MissingRequiredKey_IsReported()
    {
        var message = ErrorOf(ValidSpec.Replace("    data: sft.parquet\n", ""));
        Assert.Contains("stages.sft.data: required key is missing", message);
    }

    [Fact]
    public void DanglingFrom_NamesTheMissingStage()
    {
        var message = ErrorOf(ValidSpec.Replace("from: pretrain", "from: dpo"));
        Assert.Contains("stages.sft.from", message);
        Assert.Contains("'dpo'", message);
        Assert.Contains("does not define", message);
    }

    [Fact]
    public void InvalidModelShape_IsReportedWithKey()
    {
        var message = ErrorOf(ValidSpec.Replace("n_heads: 4", "n_heads: 5"));
        Assert.Contains("model.n_heads: must divide d_model (64)", message);
    }

    [Fact]
    public void Override_SetsStageKeyRelativeToStages()
    {
        var spec = Parse(ValidSpec, "sft.lr=1e-4", "sft.data=other.parquet", "seed=3", "model.d_model=128");
        Assert.Equal(1e-4, spec.ConfigOf(StageCatalog.Sft)!.Lr);
        Assert.Equal("other.parquet", spec.ConfigOf(StageCatalog.Sft)!.Data);
        Assert.Equal(3, spec.Seed);
        Assert.Equal(128, spec.Model.DModel);
    }

    [Fact]
    public void Override_WithUnknownKey_NamesTheSetArgument()
    {
        var message = ErrorOf(ValidSpec, "sft.lrr=1");
        Assert.Contains("--set sft.lrr=1", message);
        Assert.Contains("unknown key 'stages.sft.lrr'", message);
    }

    [Fact]
    public void Override_WithBadValue_NamesTheSetArgument()
    {
        var message = ErrorOf(ValidSpec, "pretrain.steps=many");
        Assert.Contains("--set pretrain.steps=many", message);
        Assert.Contains("expected an integer", message);
    }

    [Fact]
    public void Override_WithoutEquals_IsRejected()
    {
        Assert.Contains("expected key=value", ErrorOf(ValidSpec, "sft.lr"));
    }

    [Fact]
    public void MissingFile_IsAConfigError()
    {
        var e = Assert.Throws<PipelineConfigException>(() => PipelineSpecLoader.Load("no/such/spec.yaml"));
        Assert.Contains("no/such/spec.yaml: pipeline spec not found", e.Message);
    }

    [Fact]
    public void ConfigHash_ChangesWithConfig()
    {
        var a = Parse(ValidSpec);
        var b = Parse(ValidSpec, "sft.lr=1e-4");
        Assert.Equal(ContentHash.OfConfig(a.ConfigOf(StageCatalog.Sft)!), ContentHash.OfConfig(Parse(ValidSpec).ConfigOf(StageCatalog.Sft)!));
        Assert.NotEqual(ContentHash.OfConfig(a.ConfigOf(StageCatalog.Sft)!), ContentHash.OfConfig(b.ConfigOf(StageCatalog.Sft)!));
    }

    [Fact]
    public void ShippedPipelines_AreValid()
    {
        var root = RepoPaths.Root;
        var specs = Directory.GetFiles(Path.Combine(root, "pipelines"), "*.yaml");
        Assert.NotEmpty(specs);
        foreach (var spec in specs) Assert.NotNull(PipelineSpecLoader.Load(spec));
    }
}
