using System.Diagnostics;
using MiniLlmPipeline.Pipeline;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace MiniLlmPipeline.Training;

/// <summary>
/// The one training loop every stage uses (nanoGPT's train.py, once): for each step, accumulate
/// gradients over micro-batches, clip, set the scheduled learning rate, step AdamW, log; every
/// <c>eval_every</c> steps validate, every <c>checkpoint_every</c> steps save a resumable state.
/// A stage supplies only an <see cref="ITrainingObjective"/> (its batches and loss).
/// </summary>
public sealed class Trainer(TrainingConfig config, TrainerOptions options)
{
    public TrainingResult Train(nn.Module model, ITrainingObjective objective, int totalSteps)
    {
        if (totalSteps <= 0) throw new ArgumentOutOfRangeException(nameof(totalSteps), "training needs at least one step");
        Directory.CreateDirectory(options.StageDir);
        using var optimizer = ParameterGroups.CreateAdamW(model, config.Lr, config.WeightDecay, config.Beta1, config.Beta2);
        var parameters = model.parameters().Where(p => p.requires_grad).ToList();

        var progress = options.Resume ? TrainerCheckpoint.TryLoad(options.StateDir, model, optimizer) : null;
        var startStep = progress?.Step ?? 0;
        if (progress is not null) Console.Error.WriteLine($"[{options.StageName}] resuming from step {startStep} ({options.StateDir})");
        using var metrics = new MetricsLog(options.StageDir, options.TensorBoardDir, startStep);

        var tokensSeen = progress?.TokensSeen ?? 0;
        var secondsBefore = progress?.SecondsTraining ?? 0;
        var clock = Stopwatch.StartNew();
        double lastLoss = double.NaN;
        var lastEval = (IReadOnlyDictionary<string, double>)new Dictionary<string, double>();
        var skipped = 0;
        var windowTokens = 0L;
        var window = Stopwatch.StartNew();
        var tokensPerSecond = 0.0;

        model.train();
        ProgressReporter.Run(options.StageName, startStep, totalSteps, reporter =>
        {
            for (var step = startStep; step < totalSteps; step++)
            {
                var lr = LearningRateSchedule.At(step, totalSteps, config.Lr, config.WarmupSteps, config.MinLrRatio);
                foreach (var group in optimizer.ParamGroups) group.LearningRate = lr;

                var (loss, stepMetrics, tokens, finite) = AccumulateGradients(objective, step);
                var gradNorm = config.GradClip > 0
                    ? nn.utils.clip_grad_norm_(parameters, config.GradClip)
                    : double.NaN;
                if (!finite || (config.GradClip > 0 && !double.IsFinite(gradNorm)))
                {
                    var what = finite ? $"gradient norm {gradNorm}" : $"loss {loss}";
                    if (config.OnNonFinite == "stop")
                        throw new TrainingDivergedException(
                            $"{what} is not finite at step {step}; stopped. The last good checkpoint is in {options.StateDir} " +
                            "(lower lr, or set on_non_finite: skip)");
                    optimizer.zero_grad();
                    skipped++;
                    reporter.Message($"skipped step {step}: {what} is not finite");
                    continue;
                }
                optimizer.step();
                optimizer.zero_grad();

                lastLoss = loss;
                tokensSeen += tokens;
                windowTokens += tokens;
                var done = step + 1;
                if (done % config.LogEvery == 0 || done == totalSteps)
                {
                    tokensPerSecond = windowTokens / Math.Max(1e-9, window.Elapsed.TotalSeconds);
                    var values = new Dictionary<string, double>(stepMetrics)
                    {
                        ["loss"] = loss, ["lr"] = lr, ["tokens_per_s"] = tokensPerSecond, ["tokens_seen"] = tokensSeen,
                        // Resident memory per logged step: a leak of per-step tensors shows as a rising line.
                        ["rss_mb"] = Environment.WorkingSet / 1048576.0,
                    };
                    if (config.GradClip > 0) values["grad_norm"] = gradNorm;
                    if (options.FlopsPerToken > 0) values["gflops"] = options.FlopsPerToken * tokensPerSecond / 1e9;
                    metrics.Write(done, "train", values);
                    windowTokens = 0;
                    window.Restart();
                }
                reporter.Step(done, loss, lr, tokensPerSecond, logLine: done % config.LogEvery == 0);
                options.AfterStep?.Invoke(done, metrics);

                if (done % config.EvalEvery == 0 || done == totalSteps)
                {
                    lastEval = RunEvaluation(model, objective);
                    if (lastEval.Count > 0)
                    {
                        metrics.Write(done, "eval", lastEval);
                        reporter.Message($"step {done}: " + string.Join(", ", lastEval.Select(kv => $"{kv.Key} {kv.Value:F4}")));
                    }
                }
                if (done % config.CheckpointEvery == 0 && done < totalSteps)
                    TrainerCheckpoint.Save(options.StateDir, model, optimizer,
                        new(done, tokensSeen, secondsBefore + clock.Elapsed.TotalSeconds));
            }
            return 0;
        });

        var seconds = secondsBefore + clock.Elapsed.TotalSeconds;
        if (options.PlotTitle is not null)
            MetricsPlot.Save(metrics.Path, Path.Combine(options.StageDir, "loss.png"), options.PlotTitle, "loss",
                ("train", "loss", "train loss"), ("eval", "val_loss", "validation loss"));
        return new TrainingResult(totalSteps, lastLoss, lastEval,
            tokensSeen / Math.Max(1e-9, seconds), seconds, skipped, Process.GetCurrentProcess().PeakWorkingSet64);
    }

    /// <summary>Forward/backward over grad_accum micro-batches; returns the mean loss and metrics.</summary>
    private (double Loss, Dictionary<string, double> Metrics, long Tokens, bool Finite) AccumulateGradients(
        ITrainingObjective objective, int step)
    {
        // Seeding per step makes every random draw inside a step (sampling, masking) reproducible on resume.
        torch.manual_seed(options.Seed * 1_000_003L + step);
        double lossSum = 0;
        long tokens = 0;
        var sums = new Dictionary<string, double>();
        for (var micro = 0; micro < config.GradAccum; micro++)
        {
            using var scope = torch.NewDisposeScope();
            var result = objective.Loss((long)step * config.GradAccum + micro);
            var value = result.Loss.item<float>();
            if (!float.IsFinite(value)) return (value, sums, tokens, false);
            (result.Loss / config.GradAccum).backward();
            lossSum += value;
            tokens += result.Tokens;
            foreach (var (key, tensor) in result.Metrics)
                sums[key] = sums.GetValueOrDefault(key) + tensor.item<float>();
        }
        foreach (var key in sums.Keys.ToList()) sums[key] /= config.GradAccum;
        return (lossSum / config.GradAccum, sums, tokens, true);
    }

    private static IReadOnlyDictionary<string, double> RunEvaluation(nn.Module model, ITrainingObjective objective)
    {
        using var inference = InferenceMode.Enter(model);
        using var scope = torch.NewDisposeScope();
        return objective.Evaluate();
    }
}
