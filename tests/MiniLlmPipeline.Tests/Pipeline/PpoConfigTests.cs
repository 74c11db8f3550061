using MiniLlmPipeline.Pipeline;

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
