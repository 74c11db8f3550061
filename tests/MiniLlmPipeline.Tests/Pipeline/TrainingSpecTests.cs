using MiniLlmPipeline.Pipeline;

namespace MiniLlmPipeline.Tests.Pipeline;

/// <summary>The shared training keys every training stage's block accepts (lora, early stopping, keep, lr_schedule), bound and checked at load.</summary>
public class TrainingSpecTests
{
    private const string Spec = """
        name: demo
        model: { d_model: 64, n_layers: 2, n_heads: 4, n_kv_heads: 2, ffn_hidden: 128, max_seq_len: 64 }
        stages:
          tokenize: { data: corpus.parquet, vocab_size: 512 }
          pretrain: { steps: 30 }
          sft:
            data: sft.parquet
            val_data: sft_val.parquet
            lora: { rank: 8, alpha: 16, dropout: 0.05, targets: [q_proj, v_proj] }
        """;

    private static PipelineSpec Parse(string yaml, params string[] overrides) => PipelineSpecLoader.Parse(yaml, "spec.yaml", overrides);

    private static string ErrorOf(string yaml, params string[] overrides) =>
        Assert.Throws<PipelineConfigException>(() => Parse(yaml, overrides)).Message;

    [Fact]
    public void Lora_BindsRankAlphaDropoutAndTargets()
    {
        var lora = Parse(Spec).ConfigOf(StageCatalog.Sft)!.Lora!;
        Assert.Equal(8, lora.Rank);
        Assert.Equal(16, lora.Alpha);
        Assert.Equal(0.05, lora.Dropout);
        Assert.Equal(["q_proj", "v_proj"], lora.Targets);
    }

    [Fact]
    public void Lora_IsOffByDefault_AndOneOverrideTurnsItOnWithAllLinearTargets()
    {
        Assert.Null(Parse(Spec.Replace("    lora: { rank: 8, alpha: 16, dropout: 0.05, targets: [q_proj, v_proj] }", "")).ConfigOf(StageCatalog.Sft)!.Lora);
        var lora = Parse(Spec, "sft.lora.targets=[k_proj,o_proj]", "dpo.from=sft", "dpo.data=p.parquet", "dpo.lora.rank=4").ConfigOf(StageCatalog.Dpo)!.Lora!;
        Assert.Equal(4, lora.Rank);
        Assert.Equal(7, lora.Targets.Length);
        Assert.Equal(["k_proj", "o_proj"], Parse(Spec, "sft.lora.targets=[k_proj,o_proj]").ConfigOf(StageCatalog.Sft)!.Lora!.Targets);
    }

    [Theory]
    [InlineData("rank: 8", "rank: 0", "stages.sft.lora.rank: must be positive")]
    [InlineData("rank: 8", "rank: -2", "stages.sft.lora.rank: must be positive")]
    [InlineData("rank: 8", "rank: 40", "stages.sft.lora.rank: 40 exceeds v_proj's smaller dimension 32")]
    [InlineData("targets: [q_proj, v_proj]", "targets: [q_proj, w_proj]", "stages.sft.lora.targets: 'w_proj' is not a projection of the model")]
    [InlineData("dropout: 0.05", "dropout: 1.5", "stages.sft.lora.dropout: must be in [0, 1)")]
    public void BadLora_IsAConfigErrorNamingFileAndKey(string from, string to, string expected)
    {
        var message = ErrorOf(Spec.Replace(from, to));
        Assert.StartsWith("spec.yaml:9:", message);
        Assert.Contains(expected, message);
    }

    [Fact]
    public void Lora_OnPretraining_IsRejected()
    {
        var message = ErrorOf(Spec, "pretrain.lora.rank=4");
        Assert.Contains("stages.pretrain.lora", message);
        Assert.Contains("--set pretrain.lora.rank=4", message);
    }
}
