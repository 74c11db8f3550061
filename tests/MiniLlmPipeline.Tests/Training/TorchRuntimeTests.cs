using MiniLlmPipeline.Training;
using TorchSharp;

namespace MiniLlmPipeline.Tests.Training;

[Collection(ThreadCountChangingTests.Name)]
public class TorchRuntimeTests
{
    [Fact]
    public void ForDecoding_UsesOneLibtorchThread_ThenRestoresThePreviousCount()
    {
        var testThreads = torch.get_num_threads();
        // Start from a count other than one, so the switch and the restore are both visible.
        torch.set_num_threads(2);
        try
        {
            var before = torch.get_num_threads();
            using (TorchRuntime.ForDecoding())
                Assert.Equal(1, torch.get_num_threads());
            Assert.Equal(before, torch.get_num_threads());
        }
        finally { torch.set_num_threads(testThreads); }
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
