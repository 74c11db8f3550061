using static TorchSharp.torch;
using static TorchSharp.torch.nn.functional;

namespace MiniLlmPipeline.Alignment;

/// <summary>
/// Direct Preference Optimization losses over sequence log-probabilities (sums over response tokens), in TRL's
/// <c>dpo_loss</c> shape. With h = (log π(y_c) − log π_ref(y_c)) − (log π(y_r) − log π_ref(y_r)):
/// <list type="bullet">
/// <item><c>sigmoid</c>: −log σ(βh) (Rafailov et al. 2023, eq. 7); with label smoothing ε it is the conservative
/// cDPO loss −(1−ε) log σ(βh) − ε log σ(−βh), i.e. a preference label assumed flipped with probability ε.</item>
/// <item><c>ipo</c>: (h − 1/(2β))² (Azar et al. 2023, IPO eq. 17, with β playing the role of τ), which regresses the
/// log-ratio gap to a finite target instead of pushing it to infinity.</item>
/// </list>
/// The reference log-probs are detached here, so gradient flows only into the policy even if a caller forgot no_grad.
/// </summary>
public static class DpoLoss
{
    public const string Sigmoid = "sigmoid";
    public const string Ipo = "ipo";

    public static DpoResult Compute(
        Tensor policyChosenLogps, Tensor policyRejectedLogps, Tensor referenceChosenLogps, Tensor referenceRejectedLogps,
        double beta, double labelSmoothing = 0, string lossType = Sigmoid)
    {
        if (beta <= 0) throw new ArgumentOutOfRangeException(nameof(beta), beta, "beta must be positive.");
        if (labelSmoothing is < 0 or >= 0.5)
            throw new ArgumentOutOfRangeException(nameof(labelSmoothing), labelSmoothing, "label smoothing must be in [0, 0.5).");
        using var scope = NewDisposeScope();
        var chosenLogRatio = policyChosenLogps - referenceChosenLogps.detach();       // log π(y_c)/π_ref(y_c)
        var rejectedLogRatio = policyRejectedLogps - referenceRejectedLogps.detach(); // log π(y_r)/π_ref(y_r)
        var h = chosenLogRatio - rejectedLogRatio;

        var losses = lossType switch
        {
            Sigmoid => logsigmoid(beta * h).mul(-(1 - labelSmoothing)) - logsigmoid(-beta * h).mul(labelSmoothing),
            Ipo => (h - 1 / (2 * beta)).square(),
            _ => throw new ArgumentException($"Unknown DPO loss type '{lossType}' (expected '{Sigmoid}' or '{Ipo}').", nameof(lossType)),
        };
        var chosenRewards = chosenLogRatio.detach() * beta;
        var rejectedRewards = rejectedLogRatio.detach() * beta;
        var accuracy = (chosenRewards > rejectedRewards).to_type(ScalarType.Float32).mean();
        var margin = (chosenRewards - rejectedRewards).mean();
        return new DpoResult(
            losses.MoveToOuterDisposeScope(), losses.mean().MoveToOuterDisposeScope(),
            chosenRewards.MoveToOuterDisposeScope(), rejectedRewards.MoveToOuterDisposeScope(),
            accuracy.MoveToOuterDisposeScope(), margin.MoveToOuterDisposeScope());
    }
}
