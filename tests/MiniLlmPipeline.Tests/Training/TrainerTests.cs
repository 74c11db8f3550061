using MiniLlmPipeline.Pipeline;
using MiniLlmPipeline.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace MiniLlmPipeline.Tests.Training;

[Collection(GlobalGeneratorTests.Name)]
public class TrainerTests
{
    private sealed record TestConfig : TrainingConfig;

    /// <summary>Fits y = x·w* with a linear layer; batches are a pure function of the micro-batch index.</summary>
    private sealed class RegressionObjective(nn.Module<Tensor, Tensor> model, int? failAt = null, int? nanAt = null) : ITrainingObjective
    {
        private readonly Tensor _target = torch.tensor(new float[] { 1.5f, -2f, 0.5f, 3f }).reshape(4, 1);

        public LossResult Loss(long microBatchIndex)
        {
            if (microBatchIndex == failAt) throw new InvalidOperationException("simulated crash");
            var generator = new torch.Generator((ulong)(1000 + microBatchIndex));
            var x = torch.randn(8, 4, generator: generator);
            var y = x.matmul(_target);
            var loss = nn.functional.mse_loss(model.forward(x), y);
            if (microBatchIndex == nanAt) loss = loss * float.NaN;
            return new LossResult(loss, LossResult.NoMetrics, 8);
        }

        public IReadOnlyDictionary<string, double> Evaluate() => new Dictionary<string, double>
        {
            ["val_loss"] = Loss(-1).Loss.item<float>(),
        };
    }

    private static nn.Module<Tensor, Tensor> NewModel()
    {
        torch.manual_seed(42);
        return nn.Linear(4, 1, hasBias: false);
    }

    private static TrainerOptions Options(TempDir dir, bool resume = false) => new()
    {
        StageDir = dir.Path, StateDir = dir.File("state"), StageName = "test", Resume = resume, Seed = 1,
    };

    private static readonly TestConfig Config = new()
    {
        Lr = 0.05, WarmupSteps = 2, WeightDecay = 0, EvalEvery = 5, CheckpointEvery = 10, LogEvery = 1, GradAccum = 2,
    };

    /// <summary>Next-token loss of a tiny Gpt on random ids, a pure function of the micro-batch index.</summary>
    private sealed class TinyGptObjective(MiniLlmPipeline.Model.Gpt model) : ITrainingObjective
    {
        public LossResult Loss(long microBatchIndex)
        {
            var ids = torch.randint(model.Config.VocabSize, [2, 9], generator: new torch.Generator((ulong)(7 + microBatchIndex)));
            var logits = model.call(ids.narrow(1, 0, 8));
            return new LossResult(MiniLlmPipeline.Alignment.NextTokenCrossEntropy.Compute(logits, ids.narrow(1, 1, 8)), LossResult.NoMetrics, 16);
        }

        public IReadOnlyDictionary<string, double> Evaluate() => new Dictionary<string, double> { ["val_loss"] = 0 };
    }

    [Fact]
    public void MlpActivationCheckpointing_TrainsToTheSameLosses()
    {
        double[] Losses(string checkpointing)
        {
            using var dir = new TempDir();
            using var model = Tests.Model.TinyModels.Create(3);
            new Trainer(Options(dir)).Train(model, new TinyGptObjective(model), Config with { ActivationCheckpointing = checkpointing, EvalEvery = 100 }, 6);
            Assert.All(model.modules().OfType<MiniLlmPipeline.Model.SwiGluMlp>(), mlp => Assert.Equal(checkpointing == "mlp", mlp.Checkpointed));
            return MetricsLog.Read(Path.Combine(dir.Path, MetricsLog.FileName))
                .Where(r => r["kind"].GetString() == "train").Select(r => r["loss"].GetDouble()).ToArray();
        }

        var (kept, recomputed) = (Losses("none"), Losses("mlp"));
        Assert.Equal(6, kept.Length);
        for (var i = 0; i < kept.Length; i++) Assert.Equal(kept[i], recomputed[i], 5);
        Assert.Contains(("activation_checkpointing", "must be 'none' or 'mlp'"), (Config with { ActivationCheckpointing = "all" }).Problems());
        Assert.Contains((Config with { ActivationCheckpointing = "mlp", Lora = new MiniLlmPipeline.Model.LoraConfig { Rank = 4, Dropout = 0.1 } }).Problems(),
            p => p.Item1 == "activation_checkpointing" && p.Item2.Contains("lora.dropout"));
        Assert.Empty((Config with { ActivationCheckpointing = "mlp", Lora = new MiniLlmPipeline.Model.LoraConfig { Rank = 4 } }).Problems());
    }

    [Fact]
    public void Train_ReducesLoss_AndWritesMetrics()
    {
        using var dir = new TempDir();
        var model = NewModel();
        var result = new Trainer(Options(dir)).Train(model, new RegressionObjective(model), Config with { Lr = 0.3 }, 60);

        var records = MetricsLog.Read(Path.Combine(dir.Path, MetricsLog.FileName));
        var firstLoss = records.First(r => r["kind"].GetString() == "train")["loss"].GetDouble();
        Assert.True(result.FinalTrainLoss < firstLoss * 0.1, $"loss {firstLoss} -> {result.FinalTrainLoss}");
        Assert.Equal(60, records.Count(r => r["kind"].GetString() == "train"));
        Assert.Equal(12, records.Count(r => r["kind"].GetString() == "eval"));
        Assert.True(result.FinalEval["val_loss"] < firstLoss);
    }

    [Fact]
    public void Resume_AfterCrash_ReproducesUninterruptedRun()
    {
        using var straight = new TempDir();
        var a = NewModel();
        var full = new Trainer(Options(straight)).Train(a, new RegressionObjective(a), Config, 20);

        using var crashed = new TempDir();
        var b = NewModel();
        // Micro-batch 25 belongs to step 12: the run dies after the step-10 checkpoint.
        Assert.Throws<InvalidOperationException>(() =>
            new Trainer(Options(crashed)).Train(b, new RegressionObjective(b, failAt: 25), Config, 20));
        var c = NewModel();
        var resumed = new Trainer(Options(crashed, resume: true)).Train(c, new RegressionObjective(c), Config, 20);

        Assert.Equal(full.FinalTrainLoss, resumed.FinalTrainLoss, 6);
        Assert.Equal(a.parameters().First().data<float>().ToArray(), c.parameters().First().data<float>().ToArray());
        var lines = File.ReadAllLines(Path.Combine(crashed.Path, MetricsLog.FileName));
        Assert.Equal(File.ReadAllLines(Path.Combine(straight.Path, MetricsLog.FileName)).Length, lines.Length);
    }

    [Fact]
    public void NonFiniteLoss_StopsWithClearError_AndKeepsLastCheckpoint()
    {
        using var dir = new TempDir();
        var model = NewModel();
        var e = Assert.Throws<TrainingDivergedException>(() =>
            new Trainer(Options(dir)).Train(model, new RegressionObjective(model, nanAt: 30), Config, 20));
        Assert.Contains("not finite at step 15", e.Message);
        Assert.True(File.Exists(Path.Combine(dir.Path, "state", "trainer.json")));
        Assert.Contains("\"step\": 10", File.ReadAllText(Path.Combine(dir.Path, "state", "trainer.json")));
    }

    [Fact]
    public void NonFiniteLoss_WithSkip_SkipsTheStep()
    {
        using var dir = new TempDir();
        var model = NewModel();
        var result = new Trainer(Options(dir))
            .Train(model, new RegressionObjective(model, nanAt: 30), Config with { OnNonFinite = "skip" }, 20);
        Assert.Equal(1, result.SkippedSteps);
        Assert.True(double.IsFinite(result.FinalTrainLoss));
    }

    [Theory]
    [InlineData(0, 0.25)]      // warmup: peak·1/4
    [InlineData(3, 1.0)]       // end of warmup
    [InlineData(4, 1.0)]       // cosine starts at the peak
    [InlineData(54, 0.55)]     // halfway through decay: min + (peak-min)/2
    [InlineData(104, 0.1)]     // end: min = 0.1·peak
    public void LearningRate_WarmupThenCosine(int step, double expected)
    {
        Assert.Equal(expected, LearningRateSchedule.At(step, totalSteps: 104, peak: 1.0, warmupSteps: 4, minRatio: 0.1), 6);
    }
}
