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
    [InlineData("grad_accum")]
    [InlineData("steps")]
    [InlineData("mini_batch")]
    [InlineData("value_init")]
    [InlineData("sample_every")]
    public void InvalidSettings_NameTheirKey(string key)
    {
        var config = key switch
        {
            "grad_accum" => Valid with { GradAccum = 2 },
            "steps" => Valid with { Steps = 100 },
            "mini_batch" => Valid with { MiniBatch = 5 },
            "value_init" => Valid with { ValueInit = "random" },
            _ => Valid with { SampleEvery = 0 },
        };
        Assert.Contains(config.Problems(), p => p.Key == key);
    }
}
