using TorchSharp;
using static TorchSharp.torch;

namespace MiniLlmPipeline.Training;

/// <summary>
/// The one training loop every stage uses (nanoGPT's train.py, once), in two shapes over the same optimizer step
/// (<see cref="TrainingRun.Step"/>: scheduled learning rate, gradient accumulation, clipping, AdamW, log):
/// <list type="bullet">
/// <item><see cref="Train"/>, supervised: step after step over an <see cref="ITrainingObjective"/>'s batches; every
/// <c>eval_every</c> steps validate, every <c>checkpoint_every</c> steps save a resumable state.</item>
/// <item><see cref="TrainIterations"/>, RL: per iteration, collect experience without gradients, take the
/// objective's update steps over it, log the iteration's record; save a state every <c>checkpoint_every</c>
/// iterations, so checkpoints only fall between iterations.</item>
/// </list>
/// A stage supplies only its objective (its batches, or its experience, and its loss).
/// </summary>
public sealed class Trainer(TrainerOptions options)
{
    public TrainingResult Train(nn.Module model, ITrainingObjective objective, TrainingConfig config, int totalSteps)
    {
        using var run = new TrainingRun(model, config, options, totalSteps);
        ProgressReporter.Run(options.StageName, run.StartStep, totalSteps, reporter =>
        {
            for (var step = run.StartStep; step < totalSteps; step++)
            {
                if (!run.Step(reporter, step, config.GradAccum, micro => objective.Loss((long)step * config.GradAccum + micro))) continue;
                var done = step + 1;
                if ((done % config.EvalEvery == 0 || done == totalSteps) && run.Evaluate(reporter, done, objective)) break;
                if (done % config.CheckpointEvery == 0 && done < totalSteps) run.Checkpoint(done);
            }
        });
        return run.Finish();
    }

    public TrainingResult TrainIterations(nn.Module model, IIterationObjective objective, OptimizerConfig config, int iterations)
    {
        var perIteration = objective.StepsPerIteration;
        using var run = new TrainingRun(model, config, options, iterations * perIteration);
        if (run.StartStep % perIteration != 0)
            throw new InvalidOperationException($"the state in {options.StateDir} is at step {run.StartStep}, inside an iteration of {perIteration} steps");
        ProgressReporter.Run(options.StageName, run.StartStep, iterations * perIteration, reporter =>
        {
            for (var iteration = run.StartStep / perIteration; iteration < iterations; iteration++)
            {
                // Experience comes from the policy as it samples: eval mode (no dropout), no gradients.
                using (InferenceMode.Enter(model)) objective.Collect(iteration);
                for (var step = 0; step < perIteration; step++)
                    run.Step(reporter, iteration * perIteration + step, microBatches: 1, _ => objective.Loss(iteration, step));
                var done = (iteration + 1) * perIteration;
                var (metrics, logLine) = objective.EndIteration(iteration);
                run.Metrics.Write(done, objective.IterationKind, metrics);
                reporter.Message(logLine);
                if ((iteration + 1) % config.CheckpointEvery == 0 && iteration + 1 < iterations) run.Checkpoint(done);
            }
        });
        return run.Finish();
    }
}
