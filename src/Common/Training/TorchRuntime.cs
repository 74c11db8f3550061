using TorchSharp;

namespace MiniLlmPipeline.Training;

/// <summary>Process-wide libtorch settings, chosen once before a stage (or the bench) touches a tensor.</summary>
public static class TorchRuntime
{
    public static void Configure()
    {
    }
}
