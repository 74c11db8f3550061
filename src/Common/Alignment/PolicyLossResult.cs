using static TorchSharp.torch;

namespace MiniLlmPipeline.Alignment;

/// <summary>
/// PPO clipped policy loss (scalar, differentiable) and detached diagnostics: the fraction of real tokens where the
/// clipped term was the active one, and the approximate KL ½·mean((log π_new − log π_old)²) between the updated
/// policy and the one that sampled the rollout.
/// </summary>
public sealed record PolicyLossResult(Tensor Loss, Tensor ClipFraction, Tensor ApproxKl);
