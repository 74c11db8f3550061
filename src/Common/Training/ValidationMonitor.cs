using MiniLlmPipeline.IO;

namespace MiniLlmPipeline.Training;

/// <summary>
/// What the supervised loop does with its validation metrics: track the best evaluation of the watched metric
/// (<see cref="TrainingConfig.Monitored"/>) for <c>keep: best</c>, stop after <c>early_stopping.patience</c> evaluations
/// without improvement, and lower the plateau schedule's rate by <c>plateau_factor</c> after <c>plateau_patience</c> of
/// them (PyTorch's ReduceLROnPlateau without cooldown). Its whole state is a <see cref="State"/>, saved with every
/// checkpoint, so a resumed run makes the same decisions as an uninterrupted one.
/// </summary>
internal sealed class ValidationMonitor(TrainingConfig config, ValidationMonitor.State? resumed)
{
    /// <summary>The best value so far and the step it came from, evaluations since it, since the last rate cut, and the rate's scale.</summary>
    public sealed record State(double? Best, int BestStep, int SinceBest, int SinceCut, double LrScale)
    {
        /// <summary>Every validation metric of the best evaluation (what the manifest reports under keep: best).</summary>
        public IReadOnlyDictionary<string, double>? BestEval { get; init; }
    }

    private readonly EarlyStoppingConfig _watched = config.Monitored;

    public State Current { get; private set; } = resumed ?? new State(null, 0, 0, 0, 1.0);

    /// <summary>The factor on the scheduled rate (below 1 once the plateau schedule has cut it).</summary>
    public double LrScale => Current.LrScale;

    /// <summary>The watched metric's name.</summary>
    public string Metric => _watched.Metric;

    /// <summary>
    /// Takes the evaluation after step <paramref name="done"/>; returns whether it is the best so far and whether the run
    /// should stop. <paramref name="message"/> says what changed (a rate cut, a stop), or is null.
    /// </summary>
    public (bool Improved, bool Stop) Observe(int done, IReadOnlyDictionary<string, double> eval, out string? message)
    {
        message = null;
        if (!eval.TryGetValue(_watched.Metric, out var value))
            throw new StageInputException(
                $"keep: best, early_stopping and lr_schedule: plateau watch '{_watched.Metric}', but this stage's validation reports " +
                (eval.Count == 0 ? "nothing (it has no validation data)" : $"only {string.Join(", ", eval.Keys)}"));
        var sign = _watched.Mode == EarlyStoppingConfig.Maximize ? -1 : 1;
        var improved = Current.Best is not { } best || sign * value < sign * best - _watched.MinDelta;
        var state = improved
            ? Current with { Best = value, BestStep = done, SinceBest = 0, SinceCut = 0, BestEval = eval }
            : Current with { SinceBest = Current.SinceBest + 1, SinceCut = Current.SinceCut + 1 };
        if (config.LrSchedule == LearningRateSchedule.Plateau && state.SinceCut >= config.PlateauPatience)
        {
            state = state with { SinceCut = 0, LrScale = state.LrScale * config.PlateauFactor };
            message = $"{_watched.Metric} has not improved for {config.PlateauPatience} evaluations: learning rate × {state.LrScale:G3}";
        }
        Current = state;
        var stop = config.EarlyStopping is { } early && state.SinceBest >= early.Patience;
        if (stop)
            message = $"early stop after step {done}: {_watched.Metric} has not improved on {state.Best:F4} (step {state.BestStep}) " +
                      $"for {state.SinceBest} evaluations";
        return (improved, stop);
    }
}
