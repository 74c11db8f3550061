using System.Text.Json.Nodes;
using MiniLlmPipeline.IO;
using MiniLlmPipeline.Model;
using MiniLlmPipeline.Stages.Export;
using TorchSharp;
using Xunit.Abstractions;

namespace MiniLlmPipeline.Tests.Export;

/// <summary>
/// <c>from: hf:&lt;folder&gt;</c>: a Hugging Face Llama folder loads as the same model — our own export round-trips
/// exactly, and a hand-built folder with an untied lm_head, another rope_theta and rms_norm_eps, sharded weights and only
/// tokenizer.json scores as the model it was written from, here and in llama.cpp. Bad folders fail with one sentence
/// naming the file and field.
/// </summary>
public sealed class ImportTests(ExportFixture fixture, ITestOutputHelper output) : IClassFixture<ExportFixture>
{
    private ModelSpec SpecOf(GptConfig c) => new()
    {
        DModel = c.DModel, NLayers = c.NLayers, NHeads = c.NHeads, NKvHeads = c.NKvHeads, FfnHidden = c.FfnHidden,
        MaxSeqLen = c.MaxSeqLen, RopeTheta = c.RopeTheta, MatmulDtype = "fp32",
    };

    [Fact]
    public void ExportedHfFolder_ImportsWithIdenticalLogits()
    {
        using var tokenizerDir = new TempDir();
        var upstream = HfModelFolder.Load(fixture.Hf.Path, SpecOf(fixture.Config), torch.CPU, tokenizerDir.Path);
        using var model = upstream.Model;
        var ids = fixture.Tokenizer.Encode(ExportFixture.MixedText);
        Assert.Equal(0, LlamaCppEngine.MaxAbsDiff(ExportFixture.Logits(fixture.Model, ids), ExportFixture.Logits(model, ids)));
        foreach (var text in ExportFixture.Texts) Assert.Equal(fixture.Tokenizer.Encode(text), upstream.Tokenizer.Encode(text));
    }

    [Fact]
    public void UntiedShardedFolder_WithAnotherRopeTheta_ScoresAsWritten_HereAndInLlamaCpp()
    {
        var config = fixture.Config with { TieWordEmbeddings = false, RopeTheta = 500000, NormEps = 1e-6 };
        using var original = ExportFixture.RandomModel(config, seed: 11);
        using var dir = new TempDir();
        WriteForeignFolder(dir.Path, original, config, sharded: true);

        using var tokenizerDir = new TempDir();
        var upstream = HfModelFolder.Load(dir.Path, SpecOf(config), torch.CPU, tokenizerDir.Path);
        using var model = upstream.Model;
        Assert.False(model.Config.TieWordEmbeddings);
        Assert.Equal(1e-6, model.Config.NormEps);
        var ids = fixture.Tokenizer.Encode(ExportFixture.MixedText);
        var ours = ExportFixture.Logits(model, ids);
        Assert.Equal(0, LlamaCppEngine.MaxAbsDiff(ExportFixture.Logits(original, ids), ours));

        // The untied head and the rope base reach llama.cpp too: output.weight and llama.rope.freq_base.
        var gguf = Path.Combine(dir.Path, "untied.gguf");
        AtomicFile.Write(gguf, GgufExport.Build(model, upstream.Tokenizer, "untied", ExportQuant.F32).Write);
        using var engine = LlamaCppEngine.Open(gguf, config.MaxSeqLen);
        var diff = LlamaCppEngine.MaxAbsDiff(ours, engine.Logits(ids));
        output.WriteLine($"untied, rope_theta 500000, eps 1e-6: llama.cpp max |logit diff| {diff:G3}");
        Assert.True(diff <= 1e-3, $"max |logit diff| {diff:G3}");
    }

    [Fact]
    public void BadFolders_FailWithOneSentenceNamingFileAndField()
    {
        var spec = SpecOf(fixture.Config);
        string Fail(Action<string> damage)
        {
            using var dir = new TempDir();
            WriteForeignFolder(dir.Path, fixture.Model, fixture.Config, sharded: false);
            damage(dir.Path);
            using var tokenizerDir = new TempDir();
            var e = Assert.Throws<StageInputException>(() => HfModelFolder.Load(dir.Path, spec, torch.CPU, tokenizerDir.Path));
            output.WriteLine(e.Message);
            Assert.DoesNotContain('\n', e.Message);
            return e.Message;
        }
        void EditConfig(string dir, Action<JsonObject> edit)
        {
            var path = Path.Combine(dir, "config.json");
            var json = JsonNode.Parse(File.ReadAllText(path))!.AsObject();
            edit(json);
            File.WriteAllText(path, json.ToJsonString());
        }

        Assert.Contains("config.json: not found", Fail(d => File.Delete(Path.Combine(d, "config.json"))));
        Assert.Contains("model.safetensors: not found", Fail(d => File.Delete(Path.Combine(d, "model.safetensors"))));
        Assert.Contains("config.json: model_type is 'mistral'", Fail(d => EditConfig(d, j => j["model_type"] = "mistral")));
        Assert.Contains("tokenizer.json: the tokenizer has", Fail(d => EditConfig(d, j => j["vocab_size"] = fixture.Config.VocabSize + 1)));
        Assert.Contains("config.json: hidden_size is 32 but the spec's model.d_model is 64", Fail(d => EditConfig(d, j => j["hidden_size"] = 32)));
        Assert.Contains("model.safetensors: tensor model.norm.weight has shape [63]", Fail(d =>
        {
            var path = Path.Combine(d, "model.safetensors");
            var tensors = Safetensors.Load(path);
            tensors["model.norm.weight"] = torch.ones(63);
            Safetensors.Save(path, tensors);
        }));
    }

    /// <summary>
    /// A folder as another tool would write it: weights (optionally in two shards with an index), a transformers-style
    /// config.json (no matmul_dtype; tie_word_embeddings as the config says) and only tokenizer.json.
    /// </summary>
    private void WriteForeignFolder(string dir, Gpt model, GptConfig config, bool sharded)
    {
        var tensors = model.named_parameters().ToDictionary(p => p.name, p => (torch.Tensor)p.parameter);
        if (sharded)
        {
            var names = tensors.Keys.Order(StringComparer.Ordinal).ToList();
            var shards = new[] { names.Take(names.Count / 2), names.Skip(names.Count / 2) };
            var map = new JsonObject();
            for (var i = 0; i < 2; i++)
            {
                var file = $"model-{i + 1:D5}-of-00002.safetensors";
                Safetensors.Save(Path.Combine(dir, file), shards[i].ToDictionary(n => n, n => tensors[n]));
                foreach (var name in shards[i]) map[name] = file;
            }
            File.WriteAllText(Path.Combine(dir, HfModelFolder.ShardIndexFile), new JsonObject { ["metadata"] = new JsonObject(), ["weight_map"] = map }.ToJsonString());
        }
        else Safetensors.Save(Path.Combine(dir, "model.safetensors"), tensors);
        var json = new JsonObject
        {
            ["architectures"] = new JsonArray("LlamaForCausalLM"), ["model_type"] = "llama", ["hidden_act"] = "silu",
            ["hidden_size"] = config.DModel, ["intermediate_size"] = config.FfnHidden, ["num_attention_heads"] = config.NHeads,
            ["num_hidden_layers"] = config.NLayers, ["num_key_value_heads"] = config.NKvHeads, ["max_position_embeddings"] = config.MaxSeqLen,
            ["rms_norm_eps"] = config.NormEps, ["rope_theta"] = config.RopeTheta, ["vocab_size"] = config.VocabSize,
            ["tie_word_embeddings"] = config.TieWordEmbeddings, ["torch_dtype"] = "float32", ["rope_scaling"] = null,
        };
        File.WriteAllText(Path.Combine(dir, "config.json"), json.ToJsonString());
        File.WriteAllText(Path.Combine(dir, HfTokenizerFiles.TokenizerJson), HfTokenizerFiles.Json(fixture.Tokenizer.Model));
    }
}
