namespace MiniLlmPipeline.Training;

/// <summary>
/// The learning rate at each step (<c>lr_schedule:</c>), after the same linear warmup lr(s) = peak·(s+1)/warmup for
/// s &lt; warmup in every kind, with progress p = (s − warmup)/(total − warmup) ∈ [0, 1] and min = peak·min_lr_ratio:
/// <list type="bullet">
/// <item><c>cosine</c> (default; GPT-3 / nanoGPT, Loshchilov &amp; Hutter 2017 without restarts): min + ½(peak − min)(1 + cos πp).</item>
/// <item><c>linear</c>: peak − (peak − min)·p (BERT, the Hugging Face default).</item>
/// <item><c>constant</c>: peak.</item>
/// <item><c>plateau</c>: peak, times the factor the trainer lowers it by each time validation stops improving
/// (PyTorch's ReduceLROnPlateau; the scale is kept by <see cref="ValidationMonitor"/> and resumed with the run).</item>
/// </list>
/// </summary>
public static class LearningRateSchedule
{
    public const string Cosine = "cosine";
    public const string Linear = "linear";
    public const string Constant = "constant";
    public const string Plateau = "plateau";

    public static readonly IReadOnlyList<string> Kinds = [Cosine, Linear, Constant, Plateau];

    /// <summary>Warmup then cosine decay (the default schedule).</summary>
    public static double At(int step, int totalSteps, double peak, int warmupSteps, double minRatio) =>
        At(Cosine, step, totalSteps, peak, warmupSteps, minRatio);

    public static double At(string kind, int step, int totalSteps, double peak, int warmupSteps, double minRatio)
    {
        if (step < warmupSteps) return peak * (step + 1) / warmupSteps;
        var min = peak * minRatio;
        var decaySteps = Math.Max(1, totalSteps - warmupSteps);
        var progress = Math.Clamp((double)(step - warmupSteps) / decaySteps, 0, 1);
        return kind switch
        {
            Cosine => min + 0.5 * (peak - min) * (1 + Math.Cos(Math.PI * progress)),
            Linear => peak - (peak - min) * progress,
            Constant or Plateau => peak,
            _ => throw new ArgumentException($"unknown learning-rate schedule '{kind}' ({string.Join(" | ", Kinds)})", nameof(kind)),
        };
    }
}
