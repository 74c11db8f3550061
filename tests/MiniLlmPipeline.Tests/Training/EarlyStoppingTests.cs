using MiniLlmPipeline.IO;
using MiniLlmPipeline.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace MiniLlmPipeline.Tests.Training;

[Collection(GlobalGeneratorTests.Name)]
public class EarlyStoppingTests
{
    private sealed record TestConfig : TrainingConfig
    {
        public override bool HasValidationData => true;
    }

    private static readonly TestConfig Base = new()
    {
        Lr = 0.05, WarmupSteps = 0, WeightDecay = 0, EvalEvery = 2, CheckpointEvery = 4, LogEvery = 1, GradClip = 0,
    };

    /// <summary>
    /// Regression steps whose validation loss is scripted (<paramref name="valLosses"/>, one per evaluation), and which
    /// records the weight at every evaluation, so a test can tell which step's weights the trainer kept.
    /// </summary>
    private sealed class ScriptedObjective(nn.Module<Tensor, Tensor> model, double[] valLosses, int? failAt = null) : ITrainingObjective
    {
        private readonly Tensor _target = torch.tensor(new float[] { 1.5f, -2f }).reshape(2, 1);
        private int _evaluations;

        public List<float[]> WeightsAtEvaluations { get; } = [];

        public LossResult Loss(long microBatchIndex)
        {
            if (microBatchIndex == failAt) throw new InvalidOperationException("simulated crash");
            var x = torch.randn(8, 2, generator: new torch.Generator((ulong)(100 + microBatchIndex)));
            return new LossResult(nn.functional.mse_loss(model.forward(x), x.matmul(_target)), LossResult.NoMetrics, 8);
        }

        public IReadOnlyDictionary<string, double> Evaluate()
        {
            WeightsAtEvaluations.Add(model.parameters().First().data<float>().ToArray());
            return new Dictionary<string, double> { ["val_loss"] = valLosses[_evaluations++] };
        }

        /// <summary>Where a resumed run's scripted evaluations continue.</summary>
        public int SkipEvaluations { set => _evaluations = value; }
    }

    private static nn.Module<Tensor, Tensor> NewModel()
    {
        torch.manual_seed(42);
        return nn.Linear(2, 1, hasBias: false);
    }

    private static TrainerOptions Options(TempDir dir, bool resume = false) => new()
    {
        StageDir = dir.Path, StateDir = dir.File("state"), StageName = "test", Resume = resume, Seed = 1,
    };

    [Fact]
    public void EarlyStopping_StopsAfterPatienceEvaluationsWithoutImprovement_AndKeepBestRestoresTheBestStep()
    {
        using var dir = new TempDir();
        var model = NewModel();
        // Evaluations after steps 2, 4, 6, 8, 10: best at step 4; 6 and 8 do not beat it by more than min_delta 0.05.
        var objective = new ScriptedObjective(model, [5.0, 3.0, 2.97, 3.5, 1.0, 1.0]);
        var config = Base with { EarlyStopping = new() { Patience = 2, MinDelta = 0.05 }, Keep = TrainingConfig.KeepBest };
        var result = new Trainer(Options(dir)).Train(model, objective, config, 20);

        Assert.Equal(4, objective.WeightsAtEvaluations.Count);
        var metrics = result.ToMetrics();
        Assert.Equal(8, metrics["early_stopped_at"]);
        Assert.Equal(8, metrics["steps"]);
        Assert.Equal(4, metrics["best_step"]);
        Assert.Equal(4, metrics["kept_step"]);
        Assert.Equal(3.0, metrics["best_val_loss"]);
        Assert.Equal(3.0, metrics["val_loss"]);
        Assert.Equal(objective.WeightsAtEvaluations[1], model.parameters().First().data<float>().ToArray());
        Assert.NotEqual(objective.WeightsAtEvaluations[3], objective.WeightsAtEvaluations[1]);
    }

    [Fact]
    public void KeepLast_WithEarlyStopping_KeepsTheLastStepsWeights()
    {
        using var dir = new TempDir();
        var model = NewModel();
        var objective = new ScriptedObjective(model, [5.0, 3.0, 4.0, 4.0]);
        var result = new Trainer(Options(dir)).Train(model, objective, Base with { EarlyStopping = new() { Patience = 2 } }, 20);
        Assert.Equal(8, result.ToMetrics()["kept_step"]);
        Assert.Equal(objective.WeightsAtEvaluations[^1], model.parameters().First().data<float>().ToArray());
    }

    [Fact]
    public void Plateau_HalvesTheRateAfterPatienceEvaluationsWithoutImprovement()
    {
        using var dir = new TempDir();
        var model = NewModel();
        // After steps 2..10: improve, worse, worse (cut to 0.5·lr after step 6), improve, worse.
        var objective = new ScriptedObjective(model, [5.0, 6.0, 6.0, 4.0, 4.5]);
        new Trainer(Options(dir)).Train(model, objective, Base with { LrSchedule = LearningRateSchedule.Plateau, PlateauPatience = 2 }, 10);
        var lrs = MetricsSeries.Of(dir.Path, "lr").Values.ToList();
        Assert.Equal(Enumerable.Repeat(0.05, 6).Concat(Enumerable.Repeat(0.025, 4)), lrs);
    }

    [Fact]
    public void Resume_RestoresTheMonitorAndTheBestWeights_AndReproducesTheUninterruptedRun()
    {
        double[] script = [5.0, 6.0, 6.0, 4.0, 4.5, 4.6, 4.7];
        var config = Base with
        {
            LrSchedule = LearningRateSchedule.Plateau, PlateauPatience = 2, Keep = TrainingConfig.KeepBest,
            EarlyStopping = new() { Patience = 3 },
        };
        using var straight = new TempDir();
        var a = NewModel();
        var full = new Trainer(Options(straight)).Train(a, new ScriptedObjective(a, script), config, 20);

        using var crashed = new TempDir();
        var b = NewModel();
        // Micro-batch 13 is step 14: the run dies after the step-12 checkpoint (six evaluations in).
        Assert.Throws<InvalidOperationException>(() => new Trainer(Options(crashed)).Train(b, new ScriptedObjective(b, script, failAt: 13), config, 20));
        var c = NewModel();
        var resumed = new Trainer(Options(crashed, resume: true)).Train(c, new ScriptedObjective(c, script) { SkipEvaluations = 6 }, config, 20);

        foreach (var key in new[] { "steps", "early_stopped_at", "best_step", "kept_step", "best_val_loss", "val_loss", "final_train_loss" })
            Assert.Equal(full.ToMetrics()[key], resumed.ToMetrics()[key]);
        Assert.Equal(14, resumed.ToMetrics()["early_stopped_at"]);
        Assert.Equal(8, resumed.ToMetrics()["best_step"]);
        Assert.Equal(a.parameters().First().data<float>().ToArray(), c.parameters().First().data<float>().ToArray());
        Assert.Equal(MetricsSeries.Of(straight.Path, "lr").Values, MetricsSeries.Of(crashed.Path, "lr").Values);
    }

    [Fact]
    public void WatchedMetricMissing_IsAClearError()
    {
        using var dir = new TempDir();
        var model = NewModel();
        var config = Base with { EarlyStopping = new() { Metric = "val_accuracy", Mode = EarlyStoppingConfig.Maximize } };
        var e = Assert.Throws<StageInputException>(() => new Trainer(Options(dir)).Train(model, new ScriptedObjective(model, [1, 2]), config, 4));
        Assert.Contains("'val_accuracy'", e.Message);
        Assert.Contains("only val_loss", e.Message);
    }

    [Theory]
    [InlineData(0, 0.25)]    // warmup: peak·1/4
    [InlineData(4, 1.0)]     // decay starts at the peak
    [InlineData(54, 0.55)]   // halfway: peak − (peak − min)/2
    [InlineData(104, 0.1)]   // end: min = 0.1·peak
    public void LearningRate_WarmupThenLinear(int step, double expected) =>
        Assert.Equal(expected, LearningRateSchedule.At(LearningRateSchedule.Linear, step, 104, 1.0, 4, 0.1), 6);

    [Theory]
    [InlineData(1, 0.5)]
    [InlineData(4, 1.0)]
    [InlineData(104, 1.0)]
    public void LearningRate_WarmupThenConstant(int step, double expected) =>
        Assert.Equal(expected, LearningRateSchedule.At(LearningRateSchedule.Constant, step, 104, 1.0, 4, 0.1), 6);
}
