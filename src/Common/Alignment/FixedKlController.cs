namespace MiniLlmPipeline.Alignment;

/// <summary>A constant KL coefficient.</summary>
public sealed class FixedKlController(double coef) : IKlController
{
    public double Value { get; } = coef;

    public void Update(double currentKl, int nSteps) { }
}
