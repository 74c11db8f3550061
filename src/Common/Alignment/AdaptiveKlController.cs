namespace MiniLlmPipeline.Alignment;

/// <summary>
/// Adaptive KL coefficient (Ziegler et al. 2019, §2.2): e_t = clip(KL_t / KL_target − 1, −0.2, 0.2) and
/// β ← β·(1 + K_β e_t) with K_β = nSteps / horizon, so β grows when the policy drifts further than the target from
/// the reference and shrinks when it stays closer. The clip bounds the change per update.
/// </summary>
public sealed class AdaptiveKlController : IKlController
{
    /// <summary>TRL's default horizon (samples over which β may change by about e^{±0.2}).</summary>
    public const double DefaultHorizon = 10000;

    public AdaptiveKlController(double initCoef, double target, double horizon = DefaultHorizon)
    {
        if (initCoef < 0) throw new ArgumentOutOfRangeException(nameof(initCoef), initCoef, "must not be negative");
        if (target <= 0) throw new ArgumentOutOfRangeException(nameof(target), target, "must be positive");
        if (horizon <= 0) throw new ArgumentOutOfRangeException(nameof(horizon), horizon, "must be positive");
        Value = initCoef;
        Target = target;
        Horizon = horizon;
    }

    public double Value { get; private set; }
    public double Target { get; }
    public double Horizon { get; }

    public void Update(double currentKl, int nSteps)
    {
        var proportionalError = Math.Clamp(currentKl / Target - 1, -0.2, 0.2);
        Value *= 1 + proportionalError * nSteps / Horizon;
    }
}
