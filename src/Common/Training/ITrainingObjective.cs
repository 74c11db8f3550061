namespace MiniLlmPipeline.Training;

/// <summary>
/// What a stage gives the shared <see cref="Trainer"/>: its batches and its loss. The trainer owns
/// everything else (optimizer, schedule, clipping, accumulation, eval cadence, checkpoints, logs).
/// </summary>
public interface ITrainingObjective
{
    /// <summary>
    /// Forward pass and loss of micro-batch <paramref name="microBatchIndex"/> (0, 1, 2, … across the
    /// whole run). Batches must be a pure function of the index and the seed, which is what makes
    /// a resumed run see exactly the data the uninterrupted run would have seen.
    /// </summary>
    LossResult Loss(long microBatchIndex);

    /// <summary>Validation metrics on held-out data (called without gradients); empty when there is none.</summary>
    IReadOnlyDictionary<string, double> Evaluate();
}
