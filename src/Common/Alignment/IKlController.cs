namespace MiniLlmPipeline.Alignment;

/// <summary>The KL penalty coefficient β of the shaped reward, possibly adapted between PPO iterations.</summary>
public interface IKlController
{
    /// <summary>The current β.</summary>
    double Value { get; }

    /// <summary>Adjusts β after an iteration whose mean per-sequence KL was <paramref name="currentKl"/> over <paramref name="nSteps"/> samples.</summary>
    void Update(double currentKl, int nSteps);

    /// <summary>
    /// The controller for a <c>stages.ppo</c> config: <paramref name="target"/> = 0 keeps β fixed at
    /// <paramref name="initCoef"/>; a positive target adapts it (<see cref="AdaptiveKlController"/>).
    /// </summary>
    static IKlController Create(double initCoef, double target, double horizon = AdaptiveKlController.DefaultHorizon) =>
        target > 0 ? new AdaptiveKlController(initCoef, target, horizon) : new FixedKlController(initCoef);
}
