using static TorchSharp.torch;

namespace MiniLlmPipeline.Alignment;

/// <summary>
/// DPO loss and its diagnostics. <see cref="Losses"/> (B) and <see cref="Loss"/> (their mean) carry the gradient;
/// the implicit rewards β(log π − log π_ref) for chosen and rejected (B), the fraction of pairs whose chosen reward is
/// higher, and the mean reward margin are detached, for logging.
/// </summary>
public sealed record DpoResult(
    Tensor Losses, Tensor Loss, Tensor ChosenRewards, Tensor RejectedRewards, Tensor RewardAccuracy, Tensor RewardMargin);
