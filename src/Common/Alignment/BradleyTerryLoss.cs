using static TorchSharp.torch;
using static TorchSharp.torch.nn.functional;

namespace MiniLlmPipeline.Alignment;

/// <summary>
/// Bradley–Terry preference loss for a scalar reward model (InstructGPT, Ouyang et al. 2022, eq. 1):
/// P(y_c ≻ y_r | x) = σ(r(x, y_c) − r(x, y_r)), trained by minimising −log σ(r_c − r_r).
/// </summary>
public static class BradleyTerryLoss
{
    /// <summary>(B) chosen and rejected rewards → mean −log σ(r_c − r_r), written with logsigmoid so a large negative margin never overflows.</summary>
    public static BradleyTerryResult Compute(Tensor chosenRewards, Tensor rejectedRewards)
    {
        using var scope = NewDisposeScope();
        var margin = chosenRewards - rejectedRewards;
        var loss = logsigmoid(margin).neg().mean();
        var detached = margin.detach();
        var accuracy = (detached > 0).to_type(ScalarType.Float32).mean();
        return new BradleyTerryResult(
            loss.MoveToOuterDisposeScope(), accuracy.MoveToOuterDisposeScope(), detached.mean().MoveToOuterDisposeScope());
    }
}
