using static TorchSharp.torch;

namespace MiniLlmPipeline.Alignment;

/// <summary>
/// Pairwise reward-model loss and its diagnostics: <see cref="Loss"/> (scalar, differentiable), <see cref="Accuracy"/>
/// (fraction of pairs with r_c &gt; r_r) and <see cref="Margin"/> (mean r_c − r_r); the last two are detached.
/// </summary>
public sealed record BradleyTerryResult(Tensor Loss, Tensor Accuracy, Tensor Margin);
