namespace MiniLlmPipeline.Training;

/// <summary>
/// What an RL stage gives the shared <see cref="Trainer"/> (<see cref="Trainer.TrainIterations"/>): each iteration
/// collects experience from the current policy without gradients, then the trainer takes
/// <see cref="StepsPerIteration"/> optimizer steps over it, then the iteration's record is logged. Experience must be a
/// pure function of the iteration and the seed (and of the weights, which a checkpoint restores): the trainer checkpoints
/// only between iterations, so a resumed run collects exactly the experience the uninterrupted run would have.
/// </summary>
public interface IIterationObjective
{
    int StepsPerIteration { get; }

    /// <summary>The <c>kind</c> of the per-iteration record in metrics.jsonl (e.g. <c>ppo</c>).</summary>
    string IterationKind { get; }

    /// <summary>Samples and scores the iteration's experience (called under no_grad, before its first step).</summary>
    void Collect(int iteration);

    /// <summary>Forward pass and loss of update step <paramref name="step"/> (0-based, within the iteration) over the experience.</summary>
    LossResult Loss(int iteration, int step);

    /// <summary>The iteration's record (written to metrics.jsonl at its last step) and a line for the log.</summary>
    (IReadOnlyDictionary<string, double> Metrics, string LogLine) EndIteration(int iteration);
}
