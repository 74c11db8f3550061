namespace MiniLlmPipeline.Training;

/// <summary>Where the trainer writes and how it reports; the hyper-parameters come from the stage's TrainingConfig.</summary>
public sealed record TrainerOptions
{
    public required string StageDir { get; init; }
    public required string StateDir { get; init; }
    public string? TensorBoardDir { get; init; }
    public bool Resume { get; init; }
    public int Seed { get; init; } = 1337;
    public required string StageName { get; init; }
    /// <summary>Model FLOPs per trained token (6N + attention), to report achieved GFLOP/s; 0 to skip.</summary>
    public double FlopsPerToken { get; init; }
    /// <summary>Labels for the loss curve plot written at the end (loss.png); null disables the plot.</summary>
    public string? PlotTitle { get; init; }
    /// <summary>
    /// Called after each completed optimizer step (1-based) with the run's metrics log, before any checkpoint of
    /// that step, so a stage can add records of its own kinds (PPO writes one <c>ppo</c> record per iteration).
    /// </summary>
    public Action<int, MetricsLog>? AfterStep { get; init; }
}
