using System.Text.Json.Nodes;
using MiniLlmPipeline.IO;
using MiniLlmPipeline.Model;
using MiniLlmPipeline.Pipeline;
using TorchSharp;
using static TorchSharp.torch;

namespace MiniLlmPipeline.Tests.Model;

public class ModelCheckpointTests
{
    [Fact]
    public void SaveThenLoadGpt_GivesIdenticalLogits_AndCopiesTheTokenizer()
    {
        using var dir = new TempDir();
        using var scope = NewDisposeScope();
        dir.Write("tok/vocab.json", "{}");
        using var model = TinyModels.Create();
        ModelCheckpoint.Save(dir.File("stage"), model, dir.File("tok"));

        using var loaded = ModelCheckpoint.LoadGpt(dir.File("stage"), CPU);
        Assert.Equal(model.Config, loaded.Config);
        var ids = TinyModels.RandomIds(2, 6);
        using var noGrad = no_grad();
        Assert.True(model.forward(ids).eq(loaded.forward(ids)).all().item<bool>());
        Assert.Equal("{}", File.ReadAllText(dir.File("stage/tokenizer/vocab.json")));
    }

    [Fact]
    public void Save_WritesHuggingFaceLlamaConfigAndTensorNames()
    {
        using var dir = new TempDir();
        using var scope = NewDisposeScope();
        using var model = TinyModels.Create();
        ModelCheckpoint.Save(dir.Path, model, tokenizerDir: null);

        var config = JsonNode.Parse(File.ReadAllText(dir.File("config.json")))!;
        Assert.Equal("LlamaForCausalLM", config["architectures"]![0]!.GetValue<string>());
        Assert.Equal(32, config["hidden_size"]!.GetValue<int>());
        Assert.Equal(64, config["intermediate_size"]!.GetValue<int>());
        Assert.Equal(2, config["num_key_value_heads"]!.GetValue<int>());
        Assert.True(config["tie_word_embeddings"]!.GetValue<bool>());
        var names = Safetensors.Load(dir.File("model.safetensors")).Keys.ToList();
        Assert.Contains("model.layers.1.self_attn.o_proj.weight", names);
        Assert.DoesNotContain("lm_head.weight", names);
        Assert.Equal(2 + 9 * 2, names.Count);
    }

    [Fact]
    public void ScalarHead_FromLanguageModelCheckpoint_IsFreshUnlessRequired()
    {
        using var dir = new TempDir();
        using var scope = NewDisposeScope();
        using var model = TinyModels.Create();
        ModelCheckpoint.Save(dir.Path, model, tokenizerDir: null);

        using var fresh = ModelCheckpoint.LoadScalarHead(dir.Path, CPU, headRequired: false);
        var ids = TinyModels.RandomIds(1, 5);
        using (no_grad())
            Assert.True(model.HiddenStates(ids).allclose(fresh.Trunk.HiddenStates(ids)));
        var error = Assert.Throws<StageInputException>(() => ModelCheckpoint.LoadScalarHead(dir.Path, CPU, headRequired: true));
        Assert.Contains("score.weight is missing", error.Message);
    }

    [Fact]
    public void ScalarHead_RoundTrip_KeepsScores()
    {
        using var dir = new TempDir();
        using var scope = NewDisposeScope();
        using var model = new ScalarHeadModel(TinyModels.Create());
        ModelCheckpoint.Save(dir.Path, model, tokenizerDir: null);
        using var loaded = ModelCheckpoint.LoadScalarHead(dir.Path, CPU, headRequired: true);
        var ids = TinyModels.RandomIds(2, 5);
        using var noGrad = no_grad();
        Assert.True(model.Scores(ids).eq(loaded.Scores(ids)).all().item<bool>());
        Assert.Contains("LlamaForSequenceClassification", File.ReadAllText(Path.Combine(dir.Path, "config.json")));
    }

    [Fact]
    public void EnsureMatches_NamesTheFileAndTheField()
    {
        var checkpoint = TinyModels.Config with { DModel = 128 };
        var spec = new ModelSpec { DModel = 256, NLayers = 2, NHeads = 4, NKvHeads = 2, FfnHidden = 64, MaxSeqLen = 32 };
        var error = Assert.Throws<StageInputException>(() => ModelCheckpoint.EnsureMatches(checkpoint, spec, "runs/x/sft/config.json"));
        Assert.Equal("runs/x/sft/config.json: hidden_size is 128 but the spec's model.d_model is 256", error.Message);
        ModelCheckpoint.EnsureMatches(checkpoint with { DModel = 256 }, spec, "unused");
    }

    [Fact]
    public void ReadConfig_AgainstSpec_ReturnsTheConfig_OrNamesTheConfigFileAndTheField()
    {
        using var dir = new TempDir();
        using var scope = NewDisposeScope();
        using var model = TinyModels.Create();
        ModelCheckpoint.Save(dir.Path, model, tokenizerDir: null);
        var c = model.Config;
        var spec = new ModelSpec
        {
            DModel = c.DModel, NLayers = c.NLayers, NHeads = c.NHeads, NKvHeads = c.NKvHeads, FfnHidden = c.FfnHidden,
            MaxSeqLen = c.MaxSeqLen, RopeTheta = c.RopeTheta,
        };

        Assert.Equal(c, ModelCheckpoint.ReadConfig(dir.Path, spec));
        var error = Assert.Throws<StageInputException>(() => ModelCheckpoint.ReadConfig(dir.Path, spec with { NLayers = c.NLayers + 1 }));
        Assert.Equal($"{dir.File("config.json")}: num_hidden_layers is {c.NLayers} but the spec's model.n_layers is {c.NLayers + 1}", error.Message);
    }

    [Fact]
    public void LoadGpt_WithoutConfig_IsAStageInputError()
    {
        using var dir = new TempDir();
        var error = Assert.Throws<StageInputException>(() => ModelCheckpoint.LoadGpt(dir.Path, CPU));
        Assert.Contains("config.json: not found", error.Message);
    }
}
