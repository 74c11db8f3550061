namespace MiniLlmPipeline.Training;

/// <summary>
/// Linear warmup then cosine decay to <c>minRatio × peak</c> (as in GPT-3 / nanoGPT):
/// lr(s) = peak·(s+1)/warmup for s &lt; warmup, then min + ½(peak − min)(1 + cos(π·progress)).
/// </summary>
public static class LearningRateSchedule
{
    public static double At(int step, int totalSteps, double peak, int warmupSteps, double minRatio)
    {
        if (step < warmupSteps) return peak * (step + 1) / warmupSteps;
        var min = peak * minRatio;
        var decaySteps = Math.Max(1, totalSteps - warmupSteps);
        var progress = Math.Clamp((double)(step - warmupSteps) / decaySteps, 0, 1);
        return min + 0.5 * (peak - min) * (1 + Math.Cos(Math.PI * progress));
    }
}
