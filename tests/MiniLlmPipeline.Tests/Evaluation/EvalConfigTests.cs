using MiniLlmPipeline.Stages.Eval;
using MiniLlmPipeline.Pipeline;

namespace MiniLlmPipeline.Tests.Evaluation;

public sealed class EvalConfigTests
{
    private const string Spec = """
        name: demo
        stages:
          eval: { prompts: p.parquet, samples: 8 }
        """;

    [Fact]
    public void EvalKeys_BindWithDefaults_AndPublishDirCanBeSetFromTheCommandLine()
    {
        var eval = PipelineSpecLoader.Parse(Spec, "spec.yaml", ["eval.publish_dir=pipelines/reports/demo"]).ConfigOf(StageCatalog.Eval)!;
        Assert.Equal(8, eval.Samples);
        Assert.Equal(3, eval.ShowSamples);
        Assert.Equal("pipelines/reports/demo", eval.PublishDir);
    }

    [Theory]
    [InlineData("eval.top_p=1.5", "stages.eval.top_p")]
    [InlineData("eval.max_new_tokens=0", "stages.eval.max_new_tokens")]
    [InlineData("eval.samples=-1", "stages.eval.samples")]
    public void OutOfRangeEvalKeys_AreConfigErrorsNamingTheKey(string set, string key)
    {
        var error = Assert.Throws<PipelineConfigException>(() => PipelineSpecLoader.Parse(Spec, "spec.yaml", [set]));
        Assert.Contains(key, error.Message);
    }
}
