using MiniLlmPipeline.IO;
using TorchSharp;

namespace MiniLlmPipeline.Pipeline;

/// <summary>Turns the spec's <c>device:</c> into a torch device; <c>auto</c> prefers CUDA when this build has it.</summary>
public static class DeviceSelector
{
    public static torch.Device Resolve(string device) => device switch
    {
        "cpu" => torch.CPU,
        "cuda" when torch.cuda.is_available() => torch.CUDA,
        "cuda" => throw new StageInputException(
            "device 'cuda' was requested but CUDA is not available: this build uses the CPU libtorch (build with -p:TorchBackend=cuda on a CUDA machine)"),
        "auto" => torch.cuda.is_available() ? torch.CUDA : torch.CPU,
        _ => throw new PipelineConfigException($"device: '{device}' is not one of auto, cpu, cuda"),
    };
}
