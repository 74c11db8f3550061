using MiniLlmPipeline.Training;
using TorchSharp;

namespace MiniLlmPipeline.Tests.Training;

public class TorchRuntimeTests
{
    [Fact]
    public void ForDecoding_UsesTheDecodingThreadCount_ThenRestoresThePreviousOne()
    {
        var before = torch.get_num_threads();
        using (TorchRuntime.ForDecoding())
            Assert.Equal(TorchRuntime.DecodingThreads, torch.get_num_threads());
        Assert.Equal(before, torch.get_num_threads());
    }

    [Fact]
    public void ChosenThreads_AreThePhysicalCores_UnlessOverridden()
    {
        var cores = TorchRuntime.PhysicalCores();
        Assert.InRange(cores, 1, Environment.ProcessorCount);
        if (Environment.GetEnvironmentVariable("MINILLM_THREADS") is null)
            Assert.Equal(cores, TorchRuntime.ChooseThreads());
    }
}
