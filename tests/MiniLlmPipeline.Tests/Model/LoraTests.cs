using System.Text.Json;
using MiniLlmPipeline.Model;
using MiniLlmPipeline.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace MiniLlmPipeline.Tests.Model;

[Collection(GlobalGeneratorTests.Name)]
public class LoraTests
{
    private static readonly LoraConfig AllLinear = new() { Rank = 4, Alpha = 8 };

    /// <summary>A tiny model with adapters whose B is no longer zero, as after some training.</summary>
    private static Gpt Trained(LoraConfig config)
    {
        var model = TinyModels.Create();
        LoraAdapters.Attach(model, config, seed: 3);
        var generator = new torch.Generator(11);
        using var noGrad = no_grad();
        foreach (var (_, layer) in LoraAdapters.AdaptedLayers(model))
            layer.Adapter!.B.copy_(torch.randn(layer.Adapter.B.shape, generator: generator) * 0.1);
        return model;
    }

    [Fact]
    public void Attach_AtStepZero_GivesExactlyTheBaseModelsLogits()
    {
        using var scope = NewDisposeScope();
        using var base_ = TinyModels.Create();
        using var adapted = TinyModels.Create();
        LoraAdapters.Attach(adapted, AllLinear, seed: 3);
        var ids = TinyModels.RandomIds(2, 9);
        using var noGrad = no_grad();
        // B = 0, so B·A·x adds exact zeros: bit-identical, not merely close.
        Assert.True(Same(base_.forward(ids), adapted.forward(ids)));
    }

    [Fact]
    public void Attach_FreezesTheBase_AndCountsOnlyAdapterParameters()
    {
        using var model = TinyModels.Create();
        var count = LoraAdapters.Attach(model, AllLinear, seed: 3);
        // Per layer, r·(in + out) for q (32→32), k, v (32→16), o (32→32), gate, up (32→64), down (64→32); r = 4.
        const long perLayer = 4 * ((32 + 32) + 2 * (32 + 16) + (32 + 32) + 2 * (32 + 64) + (64 + 32));
        Assert.Equal(2 * perLayer, count);
        var trainable = model.named_parameters().Where(p => p.parameter.requires_grad).Select(p => p.name).ToList();
        Assert.Equal(2 * 7 * 2, trainable.Count);
        Assert.All(trainable, name => Assert.Matches(@"\.lora\.lora_[AB]$", name));
        Assert.Equal(count, model.parameters().Where(p => p.requires_grad).Sum(p => p.numel()));
    }

    [Fact]
    public void Adapter_InitialisesAAsPeftDoes_AndBAsZero()
    {
        using var model = TinyModels.Create();
        LoraAdapters.Attach(model, AllLinear with { Targets = ["down_proj"] }, seed: 3);
        var adapter = LoraAdapters.AdaptedLayers(model).First().Layer.Adapter!;
        // kaiming_uniform_(a = √5) on (r × in): bound = √(6 / ((1 + 5)·in)) = 1/√in, in = ffn_hidden 64.
        Assert.Equal(new long[] { 4, 64 }, adapter.A.shape);
        Assert.True(adapter.A.abs().max().item<float>() <= 1 / 8f);
        Assert.True(adapter.A.abs().max().item<float>() > 0.1f);
        Assert.Equal(new long[] { 32, 4 }, adapter.B.shape);
        Assert.Equal(0f, adapter.B.abs().sum().item<float>());
        Assert.Equal(2.0, adapter.Scaling);
    }

    [Fact]
    public void Forward_AddsScaledBA_ToTheProjection()
    {
        using var scope = NewDisposeScope();
        var linear = new MixedPrecisionLinear(3, 2, ScalarType.Float32);
        using (no_grad()) linear.Weight.copy_(torch.tensor(new float[] { 1, 0, 0, 0, 1, 0 }).reshape(2, 3));
        var adapter = linear.Attach(new LoraConfig { Rank = 1, Alpha = 2 }, new torch.Generator(1));
        using var noGrad = no_grad();
        adapter.A.copy_(torch.tensor(new float[] { 1, 1, 1 }).reshape(1, 3));
        adapter.B.copy_(torch.tensor(new float[] { 1, -1 }).reshape(2, 1));
        // x = (1, 2, 3): W·x = (1, 2); A·x = 6; (α/r)·B·6 = 2·(6, −6) = (12, −12).
        var y = linear.forward(torch.tensor(new float[] { 1, 2, 3 }).reshape(1, 3));
        Assert.Equal(new float[] { 13, -10 }, y.data<float>().ToArray());
        using (LoraAdapters.Disable(linear))
            Assert.Equal(new float[] { 1, 2 }, linear.forward(torch.tensor(new float[] { 1, 2, 3 }).reshape(1, 3)).data<float>().ToArray());
    }

    [Fact]
    public void MergedWeights_GiveTheSameLogitsAsTheUnmergedAdapters()
    {
        using var scope = NewDisposeScope();
        using var adapted = Trained(AllLinear);
        using var dir = new TempDir();
        ModelCheckpoint.Save(dir.Path, adapted, tokenizerDir: null);
        using var merged = ModelCheckpoint.LoadGpt(dir.Path, CPU);
        merged.eval();
        var ids = TinyModels.RandomIds(2, 9);
        using var noGrad = no_grad();
        var unmerged = adapted.forward(ids);
        Assert.True(merged.forward(ids).allclose(unmerged, rtol: 1e-4, atol: 1e-5));
        // The adapters matter: the base alone gives other logits.
        using (LoraAdapters.Disable(adapted))
            Assert.False(adapted.forward(ids).allclose(unmerged, rtol: 1e-4, atol: 1e-5));
    }

    [Fact]
    public void Disable_GivesTheBaseModel_AndRestoresTheAdaptersAfterwards()
    {
        using var scope = NewDisposeScope();
        using var base_ = TinyModels.Create();
        using var adapted = Trained(AllLinear);
        var ids = TinyModels.RandomIds(2, 9);
        using var noGrad = no_grad();
        var before = adapted.forward(ids);
        using (LoraAdapters.Disable(adapted))
            Assert.True(Same(base_.forward(ids), adapted.forward(ids)));
        Assert.True(Same(before, adapted.forward(ids)));
    }

    [Fact]
    public void Training_ChangesOnlyAdapterTensors_AndFrozenParametersGetNoGradient()
    {
        using var dir = new TempDir();
        using var model = TinyModels.Create();
        LoraAdapters.Attach(model, AllLinear, seed: 3);
        var before = model.named_parameters().ToDictionary(p => p.name, p => p.parameter.detach().clone());
        var objective = new NextTokenObjective(model);
        model.train();
        // One backward by hand: the frozen weights must not even receive a gradient.
        using (var scope = NewDisposeScope())
        {
            objective.Loss(0).Loss.backward();
            foreach (var (name, parameter) in model.named_parameters())
                if (name.Contains(".lora.")) Assert.NotNull(parameter.grad);
                else Assert.Null(parameter.grad);
            foreach (var parameter in model.parameters()) parameter.grad?.zero_();
        }
        new Trainer(new TrainerOptions { StageDir = dir.Path, StateDir = dir.File("state"), StageName = "lora", Seed = 1 })
            .Train(model, objective, new TestConfig { Lr = 1e-2, WarmupSteps = 0, LogEvery = 1, EvalEvery = 100 }, 5);

        foreach (var (name, parameter) in model.named_parameters())
        {
            var changed = !Same(parameter.detach(), before[name]);
            if (name.EndsWith(".lora.lora_B", StringComparison.Ordinal)) Assert.True(changed, name);
            else if (!name.Contains(".lora.")) Assert.False(changed, name);
        }
    }

    [Fact]
    public void Resume_WithAdapters_ReproducesTheUninterruptedRun()
    {
        var config = new TestConfig { Lr = 1e-2, WarmupSteps = 0, LogEvery = 1, EvalEvery = 100, CheckpointEvery = 3 };
        Gpt Fresh()
        {
            var model = TinyModels.Create();
            LoraAdapters.Attach(model, AllLinear with { Dropout = 0.1 }, seed: 3);
            return model;
        }
        using var straightDir = new TempDir();
        using var straight = Fresh();
        new Trainer(new TrainerOptions { StageDir = straightDir.Path, StateDir = straightDir.File("state"), StageName = "lora", Seed = 1 })
            .Train(straight, new NextTokenObjective(straight), config, 6);

        using var resumedDir = new TempDir();
        using (var first = Fresh())
            Assert.Throws<InvalidOperationException>(() =>
                new Trainer(new TrainerOptions { StageDir = resumedDir.Path, StateDir = resumedDir.File("state"), StageName = "lora", Seed = 1 })
                    .Train(first, new NextTokenObjective(first, failAt: 4), config, 6));
        using var resumed = Fresh();
        new Trainer(new TrainerOptions { StageDir = resumedDir.Path, StateDir = resumedDir.File("state"), StageName = "lora", Seed = 1, Resume = true })
            .Train(resumed, new NextTokenObjective(resumed), config, 6);

        var expected = straight.named_parameters().ToDictionary(p => p.name, p => p.parameter);
        foreach (var (name, parameter) in resumed.named_parameters())
            Assert.True(Same(parameter, expected[name]), name);
    }

    [Fact]
    public void PeftFiles_UsePeftKeyNamesAndConfigFields()
    {
        using var dir = new TempDir();
        using var model = Trained(AllLinear with { Targets = ["q_proj", "v_proj"], Dropout = 0.05 });
        ModelCheckpoint.Save(dir.Path, model, tokenizerDir: null);

        var tensors = Safetensors.Load(Path.Combine(dir.Path, PeftAdapterFiles.WeightsFile));
        var expected = new[] { 0, 1 }.SelectMany(layer => new[] { "q_proj", "v_proj" }.SelectMany(target => new[] { "A", "B" }
            .Select(ab => $"base_model.model.model.layers.{layer}.self_attn.{target}.lora_{ab}.weight")));
        Assert.Equal(expected.Order(StringComparer.Ordinal), tensors.Keys.Order(StringComparer.Ordinal));
        Assert.Equal(new long[] { 4, 32 }, tensors["base_model.model.model.layers.0.self_attn.v_proj.lora_A.weight"].shape);
        Assert.Equal(new long[] { 16, 4 }, tensors["base_model.model.model.layers.0.self_attn.v_proj.lora_B.weight"].shape);

        using var config = JsonDocument.Parse(File.ReadAllText(Path.Combine(dir.Path, PeftAdapterFiles.ConfigFile)));
        var root = config.RootElement;
        Assert.Equal("LORA", root.GetProperty("peft_type").GetString());
        Assert.Equal("CAUSAL_LM", root.GetProperty("task_type").GetString());
        Assert.Equal(4, root.GetProperty("r").GetInt32());
        Assert.Equal(8, root.GetProperty("lora_alpha").GetDouble());
        Assert.Equal(0.05, root.GetProperty("lora_dropout").GetDouble());
        Assert.Equal("none", root.GetProperty("bias").GetString());
        Assert.False(root.GetProperty("fan_in_fan_out").GetBoolean());
        Assert.Equal(["q_proj", "v_proj"], root.GetProperty("target_modules").EnumerateArray().Select(e => e.GetString()!));

        // The merged checkpoint itself is a plain Llama file: no adapter tensor in it.
        Assert.DoesNotContain(Safetensors.Load(Path.Combine(dir.Path, ModelCheckpoint.WeightsFile)).Keys, k => k.Contains("lora"));
    }

    [Fact]
    public void PeftFiles_OfARewardModel_CarryTheScoreHeadAsAModuleToSave()
    {
        using var dir = new TempDir();
        var trunk = Trained(AllLinear);
        using var model = new ScalarHeadModel(trunk);
        ModelCheckpoint.Save(dir.Path, model, tokenizerDir: null);
        var tensors = Safetensors.Load(Path.Combine(dir.Path, PeftAdapterFiles.WeightsFile));
        Assert.Contains("base_model.model.score.weight", tensors.Keys);
        using var config = JsonDocument.Parse(File.ReadAllText(Path.Combine(dir.Path, PeftAdapterFiles.ConfigFile)));
        Assert.Equal("SEQ_CLS", config.RootElement.GetProperty("task_type").GetString());
        Assert.Equal(["score"], config.RootElement.GetProperty("modules_to_save").EnumerateArray().Select(e => e.GetString()!));
    }

    [Fact]
    public void Save_WithoutAdapters_WritesNoAdapterFiles_AndRemovesStaleOnes()
    {
        using var dir = new TempDir();
        using (var adapted = Trained(AllLinear)) ModelCheckpoint.Save(dir.Path, adapted, tokenizerDir: null);
        Assert.True(File.Exists(Path.Combine(dir.Path, PeftAdapterFiles.ConfigFile)));
        using var plain = TinyModels.Create();
        ModelCheckpoint.Save(dir.Path, plain, tokenizerDir: null);
        Assert.False(File.Exists(Path.Combine(dir.Path, PeftAdapterFiles.ConfigFile)));
        Assert.False(File.Exists(Path.Combine(dir.Path, PeftAdapterFiles.WeightsFile)));
    }

    [Theory]
    [InlineData(0, "lora.rank", "must be positive")]
    [InlineData(17, "lora.rank", "exceeds k_proj's smaller dimension 16")]
    public void RankProblems_NameTheKey(int rank, string key, string problem)
    {
        var config = AllLinear with { Rank = rank };
        var spec = new ModelSpec { DModel = 32, NHeads = 4, NKvHeads = 2, FfnHidden = 64 };
        var found = config.Problems().Concat(config.Problems(spec)).First();
        Assert.Equal(key, found.Key);
        Assert.Contains(problem, found.Problem);
    }

    private static bool Same(Tensor a, Tensor b) => a.shape.SequenceEqual(b.shape) && a.eq(b).all().item<bool>();

    private sealed record TestConfig : TrainingConfig;

    /// <summary>Next-token loss on fixed random ids: micro-batch i is a pure function of i.</summary>
    private sealed class NextTokenObjective(Gpt model, int? failAt = null) : ITrainingObjective
    {
        public LossResult Loss(long microBatchIndex)
        {
            if (microBatchIndex == failAt) throw new InvalidOperationException("simulated crash");
            var ids = TinyModels.RandomIds(4, 12, seed: 100 + (int)microBatchIndex);
            var logits = model.call(ids.narrow(1, 0, 11));
            var loss = nn.functional.cross_entropy(logits.reshape(-1, logits.shape[^1]), ids.narrow(1, 1, 11).reshape(-1));
            return new LossResult(loss, LossResult.NoMetrics, 44);
        }

        public IReadOnlyDictionary<string, double> Evaluate() => new Dictionary<string, double>();
    }
}
