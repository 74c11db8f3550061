using MiniLlmPipeline.Pipeline;
using MiniLlmPipeline.Stages.Eval;
using MiniLlmPipeline.Stages.Ppo;
using MiniLlmPipeline.Evaluation;

namespace MiniLlmPipeline.Tests.Pipeline;

public sealed class PpoConfigTests
{
    private static readonly PpoConfig Valid = new() { Prompts = "p.parquet", Iterations = 5, RolloutBatch = 32, MiniBatch = 8, PpoEpochs = 3 };

    [Fact]
    public void TrainerSteps_AreIterations_TimesEpochs_TimesMiniBatchesPerRollout()
    {
        Assert.Empty(Valid.Problems());
        Assert.Equal(12, Valid.StepsPerIteration);
        Assert.Equal(60, Valid.TotalSteps);
    }

    [Fact]
    public void DefaultRolloutTemperature_IsTheEvaluatorsSamplingTemperature()
    {
        // PPO improves the tempered policy it samples from; at another temperature its gains barely show in evaluation.
        Assert.Equal(FormComplianceEvaluator.Sampling.Temperature, Valid.Temperature);
        Assert.Equal(new EvalConfig { Prompts = "p.parquet" }.Temperature, Valid.Temperature);
    }

    [Theory]
    [InlineData("mini_batch")]
    [InlineData("value_init")]
    [InlineData("sample_every")]
    public void InvalidSettings_NameTheirKey(string key)
    {
        var config = key switch
        {
            "mini_batch" => Valid with { MiniBatch = 5 },
            "value_init" => Valid with { ValueInit = "random" },
            _ => Valid with { SampleEvery = 0 },
        };
        Assert.Contains(config.Problems(), p => p.Key == key);
    }

    /// <summary>PPO's steps and batches come from iterations and rollout_batch: the supervised loop's keys are unknown keys.</summary>
    [Theory]
    [InlineData("steps")]
    [InlineData("grad_accum")]
    [InlineData("batch_size")]
    [InlineData("epochs")]
    [InlineData("eval_every")]
    [InlineData("eval_batches")]
    public void SupervisedLoopKeys_AreRejectedInThePpoBlock(string key)
    {
        const string spec = "name: p\nstages:\n  tokenize: { data: t.parquet }\n  pretrain: {}\n  sft: { data: s.parquet }\n" +
                            "  reward_model: { data: r.parquet }\n  ppo: { prompts: p.parquet }\n";
        var e = Assert.Throws<PipelineConfigException>(() => PipelineSpecLoader.Parse(spec, "spec.yaml", [$"ppo.{key}=2"]));
        Assert.Contains($"unknown key 'stages.ppo.{key}'", e.Message);
    }
}
