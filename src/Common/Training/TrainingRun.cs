using System.Diagnostics;
using MiniLlmPipeline.Data;
using MiniLlmPipeline.Model;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace MiniLlmPipeline.Training;

/// <summary>
/// The state of one <see cref="Trainer"/> run, and the one optimizer step both of its loops take: AdamW over the
/// trainable parameters, the resumed step counter and clocks, the metrics log, and <see cref="Step"/> (schedule,
/// accumulate, clip, step, log).
/// </summary>
internal sealed class TrainingRun : IDisposable
{
    private readonly nn.Module _model;
    private readonly OptimizerConfig _config;
    private readonly TrainerOptions _options;
    private readonly int _totalSteps;
    private readonly OptimizerHelper _optimizer;
    private readonly List<Parameter> _parameters;
    private readonly double _secondsBefore;
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private readonly Stopwatch _window = Stopwatch.StartNew();
    private long _tokensSeen;
    private long _windowTokens;
    private double _tokensPerSecond;
    private double _lastLoss = double.NaN;
    private IReadOnlyDictionary<string, double> _lastEval = new Dictionary<string, double>();
    private int _skipped;
    private readonly ValidationMonitor? _monitor;
    private readonly bool _keepBest;
    private Dictionary<string, Tensor>? _best;
    private int? _stoppedAt;

    public TrainingRun(nn.Module model, OptimizerConfig config, TrainerOptions options, int totalSteps)
    {
        if (totalSteps <= 0) throw new ArgumentOutOfRangeException(nameof(totalSteps), "training needs at least one step");
        (_model, _config, _options, _totalSteps) = (model, config, options, totalSteps);
        Directory.CreateDirectory(options.StageDir);
        _optimizer = ParameterGroups.CreateAdamW(model, config.Lr, config.WeightDecay, config.Beta1, config.Beta2);
        _parameters = model.parameters().Where(p => p.requires_grad).ToList();

        var progress = options.Resume ? TrainerCheckpoint.TryLoad(options.StateDir, model, _optimizer, out _best) : null;
        StartStep = progress?.Step ?? 0;
        if (config is TrainingConfig { WatchesValidation: true } supervised)
        {
            _monitor = new ValidationMonitor(supervised, progress?.Monitor);
            _keepBest = supervised.Keep == TrainingConfig.KeepBest;
        }
        if (progress is not null) Console.Error.WriteLine($"[{options.StageName}] resuming from step {StartStep} ({options.StateDir})");
        Metrics = new MetricsLog(options.StageDir, options.TensorBoardDir, StartStep);
        _tokensSeen = progress?.TokensSeen ?? 0;
        _secondsBefore = progress?.SecondsTraining ?? 0;
        foreach (var mlp in model.modules().OfType<SwiGluMlp>()) mlp.Checkpointed = config.ActivationCheckpointing == "mlp";
        model.train();
    }

    /// <summary>The first step to take: 0, or the step of the state a resumed run restored.</summary>
    public int StartStep { get; }

    public MetricsLog Metrics { get; }

    /// <summary>
    /// Optimizer step <paramref name="step"/> (0-based) over <paramref name="microBatches"/> micro-batches whose loss
    /// <paramref name="lossOf"/> computes; false when the step was skipped for a non-finite loss or gradient
    /// (<c>on_non_finite: skip</c>; <c>stop</c> throws).
    /// </summary>
    public bool Step(ProgressReporter reporter, int step, int microBatches, Func<int, LossResult> lossOf)
    {
        var lr = LearningRateSchedule.At(_config.LrSchedule, step, _totalSteps, _config.Lr, _config.WarmupSteps, _config.MinLrRatio);
        if (_monitor is not null) lr *= _monitor.LrScale;
        foreach (var group in _optimizer.ParamGroups) group.LearningRate = lr;

        var (loss, stepMetrics, tokens, finite) = AccumulateGradients(step, microBatches, lossOf);
        var gradNorm = _config.GradClip > 0 ? nn.utils.clip_grad_norm_(_parameters, _config.GradClip) : double.NaN;
        if (!finite || (_config.GradClip > 0 && !double.IsFinite(gradNorm)))
        {
            var what = finite ? $"gradient norm {gradNorm}" : $"loss {loss}";
            if (_config.OnNonFinite == "stop")
                throw new TrainingDivergedException(
                    $"{what} is not finite at step {step}; stopped. The last good checkpoint is in {_options.StateDir} " +
                    "(lower lr, or set on_non_finite: skip)");
            ZeroGrad();
            _skipped++;
            reporter.Message($"skipped step {step}: {what} is not finite");
            return false;
        }
        _optimizer.step();
        ZeroGrad();
        ReleaseFinalizedTensors();

        _lastLoss = loss;
        _tokensSeen += tokens;
        _windowTokens += tokens;
        var done = step + 1;
        if (done % _config.LogEvery == 0 || done == _totalSteps)
        {
            _tokensPerSecond = _windowTokens / Math.Max(1e-9, _window.Elapsed.TotalSeconds);
            var values = new Dictionary<string, double>(stepMetrics)
            {
                ["loss"] = loss, ["lr"] = lr, ["tokens_per_s"] = _tokensPerSecond, ["tokens_seen"] = _tokensSeen,
                // Resident memory per logged step: a leak of per-step tensors shows as a rising line.
                ["rss_mb"] = Environment.WorkingSet / 1048576.0,
                // Tensors created on this thread and not yet disposed: flat unless something escapes its dispose scope.
                ["live_tensors"] = DisposeScopeManager.Statistics.ThreadTotalLiveCount,
            };
            if (_config.GradClip > 0) values["grad_norm"] = gradNorm;
            if (_options.FlopsPerToken > 0) values["gflops"] = _options.FlopsPerToken * _tokensPerSecond / 1e9;
            Metrics.Write(done, "train", values);
            _windowTokens = 0;
            _window.Restart();
        }
        reporter.Step(done, loss, lr, _tokensPerSecond, logLine: done % _config.LogEvery == 0);
        return true;
    }

    /// <summary>
    /// Validation metrics after step <paramref name="done"/>, logged when the objective has any, and acted on when the
    /// config watches them (<see cref="ValidationMonitor"/>: the best weights kept, the plateau rate cut); true when the run
    /// should stop early.
    /// </summary>
    public bool Evaluate(ProgressReporter reporter, int done, ITrainingObjective objective)
    {
        using (InferenceMode.Enter(_model))
        using (torch.NewDisposeScope())
            _lastEval = objective.Evaluate();
        NativeHeap.Trim();
        if (_lastEval.Count > 0)
        {
            Metrics.Write(done, "eval", _lastEval);
            reporter.Message($"step {done}: " + string.Join(", ", _lastEval.Select(kv => $"{kv.Key} {kv.Value:F4}")));
        }
        if (_monitor is null) return false;
        var (improved, stop) = _monitor.Observe(done, _lastEval, out var message);
        if (improved && _keepBest) KeepBest();
        // At the last step there is nothing left to stop.
        stop &= done < _totalSteps;
        if (message is not null && (stop || !message.StartsWith("early stop", StringComparison.Ordinal))) reporter.Message(message);
        if (stop) _stoppedAt = done;
        return stop;
    }

    /// <summary>A copy of the trainable weights as they are now (the frozen ones cannot differ from the final model's).</summary>
    private void KeepBest()
    {
        var previous = _best;
        using (torch.no_grad())
            _best = _model.named_parameters().Where(p => p.parameter.requires_grad)
                .ToDictionary(p => p.name, p => p.parameter.detach().clone().DetachFromDisposeScope());
        foreach (var tensor in previous?.Values ?? Enumerable.Empty<Tensor>()) tensor.Dispose();
    }

    /// <summary>Saves the resumable state after step <paramref name="done"/>.</summary>
    public void Checkpoint(int done) =>
        TrainerCheckpoint.Save(_options.StateDir, _model, _optimizer,
            new(done, _tokensSeen, _secondsBefore + _clock.Elapsed.TotalSeconds) { Monitor = _monitor?.Current }, _keepBest ? _best : null);

    /// <summary>The loss plot (when the options name one) and the run's result.</summary>
    public TrainingResult Finish()
    {
        var seconds = _secondsBefore + _clock.Elapsed.TotalSeconds;
        if (_options.PlotTitle is not null)
            MetricsPlot.Save(Metrics.Path, Path.Combine(_options.StageDir, "loss.png"), _options.PlotTitle, "loss",
                ("train", "loss", "train loss"), ("eval", "val_loss", "validation loss"));
        var finalEval = _lastEval;
        if (_keepBest && _best is not null)
        {
            // The stage saves the model it holds: make that the best evaluation's.
            using (torch.no_grad())
                foreach (var (name, parameter) in _model.named_parameters())
                    if (_best.TryGetValue(name, out var kept)) parameter.copy_(kept);
            finalEval = _monitor!.Current.BestEval ?? _lastEval;
        }
        return new TrainingResult(_stoppedAt ?? _totalSteps, _lastLoss, finalEval,
            _tokensSeen / Math.Max(1e-9, seconds), seconds, _skipped, Process.GetCurrentProcess().PeakWorkingSet64)
        {
            Watched = _monitor is null ? null : new(_monitor.Metric, _monitor.Current.Best, _monitor.Current.BestStep, _keepBest ? "best" : "last", _stoppedAt),
        };
    }

    /// <summary>
    /// Some tensor handles of a step escape every dispose scope inside TorchSharp's backward and optimizer and are
    /// freed only by their finalizers, which a managed heap this small rarely runs: the native memory they hold
    /// (activation-sized) piled up, ~20 MB a step of the default pretrain, 8.9 GB by step 400. A collection per step
    /// (a few milliseconds against a ~1 s step) returns it: RSS stays flat.
    /// </summary>
    private static void ReleaseFinalizedTensors()
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
    }

    /// <summary>
    /// Drops every gradient (PyTorch's <c>zero_grad(set_to_none=True)</c>, its default since 2.0): the next backward pass
    /// writes fresh gradients instead of adding into zeroed ones, saving a fill and an add over every weight per step.
    /// In a dispose scope, as TorchSharp's zeroing returned handles it never disposed.
    /// </summary>
    private void ZeroGrad()
    {
        using var scope = torch.NewDisposeScope();
        _model.zero_grad(set_to_none: true);
    }

    /// <summary>Forward/backward over the micro-batches; returns the mean loss and metrics.</summary>
    private (double Loss, Dictionary<string, double> Metrics, long Tokens, bool Finite) AccumulateGradients(
        int step, int microBatches, Func<int, LossResult> lossOf)
    {
        // Seeding per step makes every random draw inside a step (sampling, masking) reproducible on resume.
        torch.manual_seed(SeedMix.Of(_options.Seed, step));
        double lossSum = 0;
        long tokens = 0;
        var sums = new Dictionary<string, double>();
        for (var micro = 0; micro < microBatches; micro++)
        {
            using var scope = torch.NewDisposeScope();
            var result = lossOf(micro);
            var value = result.Loss.item<float>();
            if (!float.IsFinite(value)) return (value, sums, tokens, false);
            (result.Loss / microBatches).backward();
            lossSum += value;
            tokens += result.Tokens;
            foreach (var (key, tensor) in result.Metrics)
                sums[key] = sums.GetValueOrDefault(key) + tensor.item<float>();
        }
        foreach (var key in sums.Keys.ToList()) sums[key] /= microBatches;
        return (lossSum / microBatches, sums, tokens, true);
    }

    public void Dispose()
    {
        foreach (var tensor in _best?.Values ?? Enumerable.Empty<Tensor>()) tensor.Dispose();
        Metrics.Dispose();
        _optimizer.Dispose();
    }
}
