using System.Text.Json;
using System.Text.Json.Nodes;
using MiniLlmPipeline.IO;
using MiniLlmPipeline.Pipeline;
using TorchSharp;
using static TorchSharp.torch;

namespace MiniLlmPipeline.Model;

/// <summary>
/// A stage's exported model, readable by Hugging Face transformers: <c>model.safetensors</c> (Llama
/// tensor names), <c>config.json</c> (LlamaConfig keys) and a copy of the <c>tokenizer/</c> folder.
/// </summary>
public static class ModelCheckpoint
{
    public const string WeightsFile = "model.safetensors";
    public const string ConfigFile = "config.json";
    public const string TokenizerFolder = "tokenizer";
    private const string ScoreWeight = "score.weight";

    /// <summary>
    /// The numbers of config.json in the file's order, each <see cref="GptConfig"/> field once: its LlamaConfig key, the
    /// spec's <c>model:</c> key a checkpoint must match (null: the spec does not set it, or, for dropout, a training setting
    /// the loading stage's spec replaces rather than a shape that must match), how to set it from the file
    /// (null: derived, written for transformers only), and its value when an older or hand-written file lacks it (null:
    /// required). <see cref="Save"/> writes, <see cref="ReadConfig(string)"/> reads and <see cref="EnsureMatches"/> checks
    /// by iterating this table. Values travel as double, which holds every int exactly.
    /// </summary>
    private static readonly ConfigField[] Fields =
    [
        new("hidden_size", "d_model", c => c.DModel, (c, v) => c with { DModel = (int)v }),
        new("intermediate_size", "ffn_hidden", c => c.FfnHidden, (c, v) => c with { FfnHidden = (int)v }),
        new("num_attention_heads", "n_heads", c => c.NHeads, (c, v) => c with { NHeads = (int)v }),
        new("num_hidden_layers", "n_layers", c => c.NLayers, (c, v) => c with { NLayers = (int)v }),
        new("num_key_value_heads", "n_kv_heads", c => c.NKvHeads, (c, v) => c with { NKvHeads = (int)v }, Default: c => c.NHeads),
        new("head_dim", null, c => c.HeadDim, Set: null),
        new("max_position_embeddings", "max_seq_len", c => c.MaxSeqLen, (c, v) => c with { MaxSeqLen = (int)v }),
        new("rms_norm_eps", null, c => c.NormEps, (c, v) => c with { NormEps = v }, Default: _ => 1e-5, IsInteger: false),
        new("rope_theta", "rope_theta", c => c.RopeTheta, (c, v) => c with { RopeTheta = v }, Default: _ => 10000, IsInteger: false),
        new("vocab_size", null, c => c.VocabSize, (c, v) => c with { VocabSize = (int)v }),
        // LlamaConfig's one dropout key, which transformers applies to the attention probabilities only; this model uses
        // the rate also on the embeddings and the residual branches (ModelSpec.Dropout).
        new("attention_dropout", null, c => c.Dropout, (c, v) => c with { Dropout = v }, Default: _ => 0, IsInteger: false),
    ];

    private sealed record ConfigField(
        string HfKey, string? SpecKey, Func<GptConfig, double> Get, Func<GptConfig, double, GptConfig>? Set,
        Func<GptConfig, double>? Default = null, bool IsInteger = true);

    /// <summary>
    /// Writes weights, config and tokenizer of a <see cref="Gpt"/> or <see cref="ScalarHeadModel"/> into
    /// <paramref name="stageDir"/>, each file atomically; config.json is the model's own config, so it cannot
    /// disagree with the weights. A model with LoRA adapters is written merged (plain Llama weights, which every later
    /// stage, eval, export and serve read unchanged), plus its adapters alone in PEFT's layout (<see cref="PeftAdapterFiles"/>).
    /// </summary>
    public static void Save(string stageDir, nn.Module model, string? tokenizerDir)
    {
        var (config, scalarHead) = model switch
        {
            Gpt gpt => (gpt.Config, false),
            ScalarHeadModel head => (head.Config, true),
            _ => throw new ArgumentException($"a checkpoint holds a {nameof(Gpt)} or a {nameof(ScalarHeadModel)}, not a {model.GetType().Name}", nameof(model)),
        };
        Directory.CreateDirectory(stageDir);
        using (torch.NewDisposeScope())
            Safetensors.Save(Path.Combine(stageDir, WeightsFile), LoraAdapters.MergedWeights(model), ScalarType.Float32);
        PeftAdapterFiles.Save(stageDir, model, scalarHead);
        AtomicFile.WriteAllText(Path.Combine(stageDir, ConfigFile), HuggingFaceConfig(config, scalarHead).ToJsonString(JsonDefaults.Options));
        if (tokenizerDir is null) return;
        if (!Directory.Exists(tokenizerDir)) throw new StageInputException($"{tokenizerDir}: tokenizer folder not found");
        AtomicFile.ReplaceDirectory(Path.Combine(stageDir, TokenizerFolder), temp =>
        {
            foreach (var file in Directory.GetFiles(tokenizerDir))
                File.Copy(file, Path.Combine(temp, Path.GetFileName(file)));
        });
    }

    /// <summary>
    /// The language model of a checkpoint (a scalar head in the file is ignored), with <paramref name="dropout"/> in place
    /// of the file's rate when given: a stage that trains it uses its own spec's <c>model.dropout</c>.
    /// </summary>
    public static Gpt LoadGpt(string stageDir, Device device, double? dropout = null)
    {
        var config = ReadConfig(stageDir);
        var model = new Gpt(config with { Dropout = dropout ?? config.Dropout });
        LoadWeights(stageDir, model, optional: [], ignored: [ScoreWeight]);
        model.to(device);
        return model;
    }

    /// <summary>
    /// A trunk plus scalar head. From a plain language-model checkpoint (<paramref name="headRequired"/>
    /// false) the head keeps its fresh initialisation: the reward model starts from SFT weights, while
    /// PPO's value model starts from the reward model and needs its head. <paramref name="dropout"/> as in <see cref="LoadGpt"/>.
    /// </summary>
    public static ScalarHeadModel LoadScalarHead(string stageDir, Device device, bool headRequired, double? dropout = null)
    {
        var config = ReadConfig(stageDir);
        var model = new ScalarHeadModel(new Gpt(config with { Dropout = dropout ?? config.Dropout }));
        LoadWeights(stageDir, model, optional: headRequired ? [] : [ScoreWeight], ignored: []);
        model.to(device);
        return model;
    }

    public static GptConfig ReadConfig(string stageDir)
    {
        var path = Path.Combine(stageDir, ConfigFile);
        if (!File.Exists(path)) throw new StageInputException($"{path}: not found (did the stage that writes it complete?)");
        JsonNode? root;
        try { root = JsonNode.Parse(File.ReadAllText(path)); }
        catch (JsonException e) { throw new StageInputException($"{path}: not valid JSON ({e.Message})"); }
        if (root is not JsonObject json) throw new StageInputException($"{path}: expected a JSON object");

        try
        {
            // Every checkpoint of ours writes the key; a file without it is read as tied, as before untied heads existed.
            var tied = json["tie_word_embeddings"]?.GetValue<bool>() ?? true;
            // Starts from the spec's defaults; every field below either overwrites its value or rejects the file.
            var config = GptConfig.From(new ModelSpec { MatmulDtype = json["matmul_dtype"]?.GetValue<string>() ?? "fp32" }, vocabSize: 0)
                with { TieWordEmbeddings = tied };
            foreach (var field in Fields.Where(f => f.Set is not null))
            {
                var node = json[field.HfKey];
                var value = node is null
                    ? field.Default?.Invoke(config) ?? throw new StageInputException($"{path}: {field.HfKey} is missing")
                    : field.IsInteger ? node.GetValue<int>() : node.GetValue<double>();
                config = field.Set!(config, value);
            }
            if (!(config.Dropout is >= 0 and < 1)) throw new StageInputException($"{path}: attention_dropout is {config.Dropout}, but must be in [0, 1)");
            return config;
        }
        catch (Exception e) when (e is InvalidOperationException or FormatException or ArgumentException)
        {
            throw new StageInputException($"{path}: {e.Message}");
        }
    }

    /// <summary>
    /// The config of a checkpoint a stage reads, checked against the spec's <c>model:</c> block before any weight is
    /// loaded (<see cref="EnsureMatches"/>, which names the config file).
    /// </summary>
    public static GptConfig ReadConfig(string stageDir, ModelSpec expected)
    {
        var config = ReadConfig(stageDir);
        EnsureMatches(config, expected, Path.Combine(stageDir, ConfigFile));
        return config;
    }

    /// <summary>A checkpoint whose shape differs from the spec's <c>model:</c> block cannot be loaded into it.</summary>
    public static void EnsureMatches(GptConfig checkpoint, ModelSpec spec, string configPath)
    {
        var expected = GptConfig.From(spec, checkpoint.VocabSize);
        var problems = Fields.Where(f => f.SpecKey is not null && f.Get(checkpoint) != f.Get(expected))
            .Select(f => $"{f.HfKey} is {f.Get(checkpoint)} but the spec's model.{f.SpecKey} is {f.Get(expected)}")
            .ToList();
        if (problems.Count > 0) throw new StageInputException($"{configPath}: {string.Join("; ", problems)}");
    }

    private static JsonObject HuggingFaceConfig(GptConfig config, bool scalarHead)
    {
        var json = new JsonObject
        {
            ["architectures"] = new JsonArray(scalarHead ? "LlamaForSequenceClassification" : "LlamaForCausalLM"),
            ["model_type"] = "llama",
        };
        foreach (var field in Fields)
            json[field.HfKey] = field.IsInteger ? JsonValue.Create((int)field.Get(config)) : JsonValue.Create(field.Get(config));
        json["hidden_act"] = "silu";
        json["attention_bias"] = false;
        json["mlp_bias"] = false;
        json["tie_word_embeddings"] = config.TieWordEmbeddings;
        json["torch_dtype"] = "float32";
        // Not a transformers key (it ignores it): the dtype this model's matmuls ran in here, so
        // stages that continue from this checkpoint compute the same way.
        json["matmul_dtype"] = config.MatmulDtypeName;
        if (scalarHead) json["num_labels"] = 1;
        return json;
    }

    /// <summary>Copies the file's tensors into the module's parameters, checking names and shapes.</summary>
    private static void LoadWeights(string stageDir, nn.Module model, string[] optional, string[] ignored)
    {
        var path = Path.Combine(stageDir, WeightsFile);
        var tensors = Safetensors.Load(path);
        try { CopyWeights(tensors, _ => path, model, optional, ignored); }
        finally
        {
            foreach (var tensor in tensors.Values) tensor.Dispose();
        }
    }

    /// <summary>
    /// Copies named tensors into the module's parameters: every parameter present (unless optional), none left over
    /// (unless ignored), each of the parameter's shape; <paramref name="fileOf"/> names the file a tensor came from.
    /// </summary>
    internal static void CopyWeights(IReadOnlyDictionary<string, Tensor> tensors, Func<string, string> fileOf, nn.Module model, string[] optional, string[] ignored)
    {
        var parameters = model.named_parameters().ToDictionary(p => p.name, p => p.parameter);
        var unexpected = tensors.Keys.Where(k => !parameters.ContainsKey(k) && !ignored.Contains(k)).Order().ToList();
        if (unexpected.Count > 0) throw new StageInputException($"{fileOf(unexpected[0])}: unexpected tensors {string.Join(", ", unexpected)}");
        using var noGrad = torch.no_grad();
        foreach (var (name, parameter) in parameters)
        {
            if (!tensors.TryGetValue(name, out var tensor))
            {
                if (optional.Contains(name)) continue;
                throw new StageInputException($"{fileOf(name)}: tensor {name} is missing");
            }
            if (!tensor.shape.SequenceEqual(parameter.shape))
                throw new StageInputException(
                    $"{fileOf(name)}: tensor {name} has shape [{string.Join(", ", tensor.shape)}] but the config gives [{string.Join(", ", parameter.shape)}]");
            parameter.copy_(tensor);
        }
    }
}
