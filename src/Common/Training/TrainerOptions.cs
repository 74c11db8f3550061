namespace MiniLlmPipeline.Training;

/// <summary>Where the trainer writes and how it reports; the hyper-parameters come from the stage's TrainingConfig.</summary>
public sealed record TrainerOptions
{
    public required string StageDir { get; init; }
    public required string StateDir { get; init; }
    public string? TensorBoardDir { get; init; }
    public bool Resume { get; init; }
    /// <summary>The pipeline's seed (<c>seed:</c>): each step's random draws are seeded from it and the step.</summary>
    public required int Seed { get; init; }
    public required string StageName { get; init; }
    /// <summary>Model FLOPs per trained token (6N + attention), to report achieved GFLOP/s; 0 to skip.</summary>
    public double FlopsPerToken { get; init; }
    /// <summary>Labels for the loss curve plot written at the end (loss.png); null disables the plot.</summary>
    public string? PlotTitle { get; init; }
}
