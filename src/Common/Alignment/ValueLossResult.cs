using static TorchSharp.torch;

namespace MiniLlmPipeline.Alignment;

/// <summary>PPO clipped value loss (scalar, differentiable) and the detached fraction of real tokens where the clipped prediction was used.</summary>
public sealed record ValueLossResult(Tensor Loss, Tensor ClipFraction);
