using System.Text.Json.Nodes;
using MiniLlmPipeline.Alignment;
using MiniLlmPipeline.IO;
using MiniLlmPipeline.Model;
using MiniLlmPipeline.Pipeline;
using MiniLlmPipeline.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace MiniLlmPipeline.Tests.Model;

/// <summary>
/// <c>model.dropout</c>: on the embeddings, the attention probabilities and the residual branches in training mode only,
/// drawn from torch's global generator (so it runs with the tests that seed it), saved in config.json.
/// </summary>
[Collection(GlobalGeneratorTests.Name)]
public class DropoutTests
{
    private const double P = 0.25;
    private static readonly GptConfig WithDropout = TinyModels.Config with { Dropout = P };

    [Fact]
    public void ZeroDropout_InTrainingMode_GivesTheEvalLogitsBitForBit()
    {
        using var scope = NewDisposeScope();
        using var model = TinyModels.Create(seed: 3);
        Assert.Equal(0, model.Config.Dropout);
        var ids = TinyModels.RandomIds(2, 12);
        using var noGrad = no_grad();
        var eval = model.forward(ids);
        model.train();
        Assert.True(model.forward(ids).eq(eval).all().item<bool>(), "dropout 0 changed the training-mode logits");
    }

    [Fact]
    public void Dropout_InEvalMode_GivesTheLogitsOfTheSameWeightsWithoutDropout()
    {
        using var scope = NewDisposeScope();
        // One seed, one initialisation: building the dropout draws nothing.
        using var plain = TinyModels.Create(seed: 3);
        using var dropped = TinyModels.Create(seed: 3, WithDropout);
        var ids = TinyModels.RandomIds(2, 12);
        var padded = ones(2, 12, dtype: @bool);
        padded[0, 0] = false;
        using var noGrad = no_grad();
        Assert.True(dropped.forward(ids).eq(plain.forward(ids)).all().item<bool>());
        Assert.True(dropped.HiddenStates(ids, padded).eq(plain.HiddenStates(ids, padded)).all().item<bool>());
    }

    [Fact]
    public void Dropout_InTrainingMode_ChangesTheLogits_AndRepeatsBitForBitUnderTheSameSeed()
    {
        using var scope = NewDisposeScope();
        using var model = TinyModels.Create(seed: 3, WithDropout);
        var ids = TinyModels.RandomIds(2, 12);
        using var noGrad = no_grad();
        var eval = model.forward(ids);
        model.train();
        torch.manual_seed(11);
        var first = model.forward(ids);
        torch.manual_seed(11);
        var again = model.forward(ids);
        torch.manual_seed(12);
        var otherSeed = model.forward(ids);

        Assert.True(first.eq(again).all().item<bool>(), "two training passes under one seed differ");
        Assert.False(first.allclose(eval, rtol: 1e-3, atol: 1e-3), "training mode gave the eval logits");
        Assert.False(first.allclose(otherSeed, rtol: 1e-3, atol: 1e-3), "another seed gave the same dropout");
    }

    [Fact]
    public void EmbeddingDropout_ZeroesAboutPOfTheElements_AndScalesTheRestByOneOverOneMinusP()
    {
        using var scope = NewDisposeScope();
        // Zero output projections make every block add zero to the residual stream (dropped out or not), so the hidden
        // states are RMSNorm(dropout(E[ids])). A norm eps of 1 dwarfs the mean square (~4e-4 at init std 0.02), so the
        // norm is nearly linear and the 1/(1−p) of the survivors shows instead of cancelling.
        using var model = TinyModels.Create(seed: 3, WithDropout with { NormEps = 1 });
        using (no_grad())
            for (var i = 0; i < TinyModels.Config.NLayers; i++)
            {
                model.get_parameter($"model.layers.{i}.self_attn.o_proj.weight")!.zero_();
                model.get_parameter($"model.layers.{i}.mlp.down_proj.weight")!.zero_();
            }
        var ids = TinyModels.RandomIds(4, 32);
        model.train();
        torch.manual_seed(5);
        using var noGrad = no_grad();
        var hidden = model.HiddenStates(ids); // (4, 32, 32): 4096 elements

        var kept = hidden.ne(0);
        var zeroed = 1 - kept.to(float32).mean().item<float>();
        // The zeroed share of 4096 Bernoulli(p) draws has std √(p(1−p)/4096) ≈ 0.007.
        Assert.InRange(zeroed, P - 0.03, P + 0.03);
        var embedded = model.get_parameter("model.embed_tokens.weight")!.index_select(0, ids.flatten()).view(4, 32, 32);
        var x = embedded * kept / (1 - P);                                         // dropout by hand
        var expected = x / (x.pow(2).mean([-1], keepdim: true) + 1).sqrt();        // RMSNorm, eps 1, gain 1
        Assert.True(hidden.allclose(expected, rtol: 1e-5, atol: 1e-8), "survivors are not E[ids]/(1−p) through the norm");
    }

    [Fact]
    public void RecordedAttention_InEvalMode_IgnoresDropout_AndInTrainingDropsAsTheKernelDoes()
    {
        using var scope = NewDisposeScope();
        using var plain = TinyModels.Create(seed: 3);
        using var model = TinyModels.Create(seed: 3, WithDropout);
        var ids = TinyModels.RandomIds(2, 9);
        using var noGrad = no_grad();
        using (var recording = AttentionRecording.Run(model, ids))
        {
            Assert.True(recording.Hidden.allclose(plain.HiddenStates(ids), rtol: 1e-5, atol: 1e-5));
            foreach (var weights in recording.Weights)
                Assert.True(weights.sum(-1).allclose(ones(2, TinyModels.Config.NHeads, 9), atol: 1e-6), "a recorded row does not sum to 1");
        }

        // In training both paths draw the same masks in the same order (embedding, then per layer attention and branches).
        model.train();
        torch.manual_seed(21);
        var fused = model.HiddenStates(ids);
        torch.manual_seed(21);
        using var trained = AttentionRecording.Run(model, ids);
        Assert.True(trained.Hidden.allclose(fused, rtol: 1e-4, atol: 1e-5), "the recorded path drops out differently from the kernel");
        Assert.False(trained.Hidden.allclose(plain.HiddenStates(ids), rtol: 1e-3, atol: 1e-3));
    }

    private sealed record LmConfig : TrainingConfig;

    /// <summary>Next-token loss on random ids that are a pure function of the micro-batch index.</summary>
    private sealed class RandomTextObjective(Gpt model, int? failAt = null) : ITrainingObjective
    {
        public LossResult Loss(long microBatchIndex)
        {
            if (microBatchIndex == failAt) throw new InvalidOperationException("simulated crash");
            var ids = TinyModels.RandomIds(2, 9, seed: (int)(100 + microBatchIndex));
            var logits = model.forward(ids.narrow(1, 0, 8));
            return new LossResult(NextTokenCrossEntropy.Compute(logits, ids.narrow(1, 1, 8)), LossResult.NoMetrics, 16);
        }

        public IReadOnlyDictionary<string, double> Evaluate() => new Dictionary<string, double>();
    }

    private static readonly LmConfig Training = new() { Lr = 1e-2, WarmupSteps = 0, EvalEvery = 100, CheckpointEvery = 4, LogEvery = 1 };

    private static TrainerOptions Options(TempDir dir, bool resume = false) => new()
    {
        StageDir = dir.Path, StateDir = dir.File("state"), StageName = "test", Resume = resume, Seed = 1,
    };

    private static float[] Weights(Gpt model) => model.parameters().SelectMany(p => p.data<float>().ToArray()).ToArray();

    [Fact]
    public void TrainingWithDropout_ResumedAfterACrash_EqualsTheUninterruptedRunBitForBit()
    {
        using var straight = new TempDir();
        using var a = TinyModels.Create(seed: 3, WithDropout);
        new Trainer(Options(straight)).Train(a, new RandomTextObjective(a), Training, 8);

        using var crashed = new TempDir();
        using var b = TinyModels.Create(seed: 3, WithDropout);
        // Micro-batch 6 is step 6: the run dies after the step-4 state.
        Assert.Throws<InvalidOperationException>(() => new Trainer(Options(crashed)).Train(b, new RandomTextObjective(b, failAt: 6), Training, 8));
        using var c = TinyModels.Create(seed: 3, WithDropout);
        new Trainer(Options(crashed, resume: true)).Train(c, new RandomTextObjective(c), Training, 8);

        using var without = new TempDir();
        using var d = TinyModels.Create(seed: 3);
        new Trainer(Options(without)).Train(d, new RandomTextObjective(d), Training, 8);

        Assert.Equal(Weights(a), Weights(c));
        Assert.NotEqual(Weights(a), Weights(d));
    }

    [Fact]
    public void Checkpoint_SavesTheRateAsAttentionDropout_AndLoadsItBackUnlessTheLoaderGivesItsOwn()
    {
        using var dir = new TempDir();
        using var scope = NewDisposeScope();
        using var model = TinyModels.Create(seed: 3, WithDropout);
        ModelCheckpoint.Save(dir.Path, model, tokenizerDir: null);

        Assert.Equal(P, JsonNode.Parse(File.ReadAllText(dir.File("config.json")))!["attention_dropout"]!.GetValue<double>());
        Assert.Equal(WithDropout, ModelCheckpoint.ReadConfig(dir.Path));
        using var loaded = ModelCheckpoint.LoadGpt(dir.Path, CPU);
        Assert.Equal(P, loaded.Config.Dropout);
        using var overridden = ModelCheckpoint.LoadGpt(dir.Path, CPU, dropout: 0.1);
        Assert.Equal(0.1, overridden.Config.Dropout);
        using var head = ModelCheckpoint.LoadScalarHead(dir.Path, CPU, headRequired: false, dropout: 0);
        Assert.Equal(0, head.Config.Dropout);
        // A training setting, not a shape: a spec with another rate still loads the checkpoint.
        ModelCheckpoint.ReadConfig(dir.Path, new ModelSpec { DModel = 32, NLayers = 2, NHeads = 4, NKvHeads = 2, FfnHidden = 64, MaxSeqLen = 32, Dropout = 0.1 });
    }

    [Fact]
    public void Checkpoint_WithoutAttentionDropout_ReadsAsZero_AndOneOutOfRangeNamesFileAndKey()
    {
        using var dir = new TempDir();
        using var scope = NewDisposeScope();
        using var model = TinyModels.Create(seed: 3);
        ModelCheckpoint.Save(dir.Path, model, tokenizerDir: null);
        var path = dir.File("config.json");
        var json = JsonNode.Parse(File.ReadAllText(path))!.AsObject();

        json.Remove("attention_dropout");
        File.WriteAllText(path, json.ToJsonString());
        Assert.Equal(0, ModelCheckpoint.ReadConfig(dir.Path).Dropout);

        json["attention_dropout"] = 1.5;
        File.WriteAllText(path, json.ToJsonString());
        var error = Assert.Throws<StageInputException>(() => ModelCheckpoint.ReadConfig(dir.Path));
        Assert.Contains(path, error.Message);
        Assert.Contains("attention_dropout is 1.5", error.Message);
    }

    [Fact]
    public void SpecHash_OfTheModelBlock_OmitsDropoutAtItsDefault()
    {
        // Runs made before model.dropout existed hashed the model block without it; at 0 they stay up to date.
        Assert.DoesNotContain("dropout", System.Text.Json.JsonSerializer.Serialize(new ModelSpec(), JsonDefaults.Options));
        Assert.Contains("\"dropout\": 0.1", System.Text.Json.JsonSerializer.Serialize(new ModelSpec { Dropout = 0.1 }, JsonDefaults.Options));
    }

    private const string Spec = """
        name: demo
        model: { d_model: 64, n_layers: 2, n_heads: 4, n_kv_heads: 2, ffn_hidden: 128, max_seq_len: 64, dropout: 0.1 }
        stages:
          tokenize: { data: corpus.parquet, vocab_size: 512 }
          pretrain: { steps: 30 }
        """;

    [Fact]
    public void SpecDropout_IsBound_AndCanBeSetFromTheCommandLine()
    {
        Assert.Equal(0.1, PipelineSpecLoader.Parse(Spec, "spec.yaml", []).Model.Dropout);
        Assert.Equal(0.3, PipelineSpecLoader.Parse(Spec, "spec.yaml", ["model.dropout=0.3"]).Model.Dropout);
        Assert.Equal(0.1, GptConfig.From(PipelineSpecLoader.Parse(Spec, "spec.yaml", []).Model, vocabSize: 50).Dropout);
    }

    [Theory]
    [InlineData("-0.1", "model.dropout: must be a number in [0, 1)")]
    [InlineData("1", "model.dropout: must be a number in [0, 1)")]
    [InlineData("1.5", "model.dropout: must be a number in [0, 1)")]
    [InlineData(".nan", "model.dropout: expected a number, got '.nan'")]
    [InlineData("inf", "model.dropout: expected a number, got 'inf'")]
    public void SpecDropout_OutsideZeroToOne_NamesTheFileAndKey(string value, string says)
    {
        var error = Assert.Throws<PipelineConfigException>(() => PipelineSpecLoader.Parse(Spec.Replace("dropout: 0.1", $"dropout: {value}"), "spec.yaml", []));
        Assert.StartsWith("spec.yaml:", error.Message);
        Assert.Contains(says, error.Message);
    }

    [Fact]
    public void ModelSpec_WithANotFiniteDropout_HasADropoutProblem()
    {
        // The YAML binder rejects .nan and inf first; a spec built in code is checked too.
        Assert.Contains(new ModelSpec { Dropout = double.NaN }.Problems(), p => p.Key == "dropout");
        Assert.Contains(new ModelSpec { Dropout = double.PositiveInfinity }.Problems(), p => p.Key == "dropout");
    }

    [Fact]
    public void StageProgram_GivenDropoutOne_SaysSoInOneSentence_AndExits1()
    {
        using var temp = new TempDir();
        var result = TinyRuns.Run(StageCatalog.Pretrain, temp.Path, "--set", "model.dropout=1");
        StageAssert.FailedClearly(result, TinyRuns.Spec, "--set model.dropout=1", "model.dropout: must be a number in [0, 1)");
        Assert.Single(result.StdErr.Trim().Split('\n'), line => line.Contains("error:"));
    }
}
