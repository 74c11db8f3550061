using System.Text.Json;
using System.Text.Json.Nodes;
using MiniLlmPipeline.IO;
using MiniLlmPipeline.Tokenization;
using TorchSharp;
using static TorchSharp.torch;

namespace MiniLlmPipeline.Model;

/// <summary>
/// A Hugging Face Llama folder as a starting model (<c>from: hf:path/to/folder</c>): config.json (LlamaConfig keys,
/// tied or untied head, any rope_theta / rms_norm_eps, grouped-query heads), model.safetensors or shards listed in
/// model.safetensors.index.json, and the tokenizer as tokenizer.json or vocab.json + merges.txt. The tokenizer must
/// have this project's layout (256 byte tokens, then our special tokens at 256–259) — what <c>make export FORMAT=hf</c>
/// writes — since every stage renders ChatML with those ids.
/// </summary>
public static class HfModelFolder
{
    /// <summary>The <c>from:</c> prefix that names a folder instead of a stage.</summary>
    public const string Prefix = "hf:";
    public const string ShardIndexFile = "model.safetensors.index.json";
    public const string TokenizerJsonFile = "tokenizer.json";

    /// <summary>The folder a <c>from:</c> value names, or null when it names a stage.</summary>
    public static string? FolderOf(string from) => from.StartsWith(Prefix, StringComparison.Ordinal) ? from[Prefix.Length..] : null;

    /// <summary>The files whose content decides what a stage starting from the folder computes (hashed into its manifest).</summary>
    public static IEnumerable<string> InputFiles(string folder) =>
        Directory.Exists(folder)
            ? Directory.GetFiles(folder).Where(f => Path.GetExtension(f) is ".json" or ".safetensors" or ".txt").Order(StringComparer.Ordinal)
            : [];

    /// <summary>
    /// Where a folder's tokenizer is rewritten in our layout for a stage to copy: one folder per tokenizer content under
    /// the temp directory, so reruns reuse it instead of leaving a new one each time.
    /// </summary>
    public static string TokenizerCacheDir(string folder)
    {
        var source = new[] { TokenizerJsonFile, BpeModel.VocabFile, BpeModel.MergesFile }.Select(f => Path.Combine(folder, f)).Where(File.Exists);
        var hash = ContentHash.OfText(string.Join(",", source.Select(ContentHash.OfFile)));
        return Path.Combine(Path.GetTempPath(), $"mlp-hf-tokenizer-{hash[..16]}");
    }

    public static GptConfig ReadConfig(string folder)
    {
        var path = Path.Combine(folder, ModelCheckpoint.ConfigFile);
        if (!Directory.Exists(folder)) throw new StageInputException($"{folder}: Hugging Face model folder not found");
        if (!File.Exists(path)) throw new StageInputException($"{path}: not found (a Hugging Face model folder needs config.json)");
        JsonObject json;
        try { json = JsonNode.Parse(File.ReadAllText(path)) as JsonObject ?? throw new StageInputException($"{path}: expected a JSON object"); }
        catch (JsonException e) { throw new StageInputException($"{path}: not valid JSON ({e.Message})"); }

        var modelType = json["model_type"]?.GetValue<string>();
        if (modelType != "llama")
            throw new StageInputException($"{path}: model_type is '{modelType ?? "missing"}', but only Llama models (model_type 'llama') can be imported");
        Require(json, path, "hidden_act", "silu");
        Require(json, path, "attention_bias", false);
        Require(json, path, "mlp_bias", false);
        if (json["rope_scaling"] is JsonObject) throw new StageInputException($"{path}: rope_scaling is set, but this model implements plain RoPE only");
        var config = ModelCheckpoint.ReadConfig(folder);
        // transformers' LlamaConfig defaults tie_word_embeddings to false; our own files always write the key.
        config = config with { TieWordEmbeddings = json["tie_word_embeddings"]?.GetValue<bool>() ?? false };
        if (json["head_dim"] is { } headDim && headDim.GetValue<int>() != config.HeadDim)
            throw new StageInputException($"{path}: head_dim is {headDim} but hidden_size / num_attention_heads is {config.HeadDim}");
        return config;
    }

    /// <summary>The folder's model and tokenizer, checked against the spec's <c>model:</c> block; the tokenizer is written to <paramref name="tokenizerDir"/>.</summary>
    public static UpstreamModel Load(string folder, ModelSpec spec, Device device, string tokenizerDir)
    {
        var config = ReadConfig(folder) with { Dropout = spec.Dropout };
        ModelCheckpoint.EnsureMatches(config, spec, Path.Combine(folder, ModelCheckpoint.ConfigFile));
        var (bpe, tokenizerFile) = ReadTokenizer(folder);
        if (bpe.VocabSize != config.VocabSize)
            throw new StageInputException(
                $"{tokenizerFile}: the tokenizer has {bpe.VocabSize} tokens but {Path.Combine(folder, ModelCheckpoint.ConfigFile)} says vocab_size {config.VocabSize}");
        var model = LoadGpt(folder, config);
        model.to(device);
        bpe.Save(tokenizerDir);
        return new UpstreamModel(model, TextTokenizer.FromModel(bpe), tokenizerDir);
    }

    /// <summary>The language model of the folder (CPU), weights from one file or from the shards the index lists.</summary>
    public static Gpt LoadGpt(string folder, GptConfig config)
    {
        var index = Path.Combine(folder, ShardIndexFile);
        var single = Path.Combine(folder, ModelCheckpoint.WeightsFile);
        var fileOf = new Dictionary<string, string>();
        var tensors = new Dictionary<string, Tensor>();
        try
        {
            foreach (var file in WeightFiles(folder, index, single))
                foreach (var (name, tensor) in Safetensors.Load(file))
                {
                    tensors[name] = tensor;
                    fileOf[name] = file;
                }
            var model = new Gpt(config);
            model.eval();
            ModelCheckpoint.CopyWeights(tensors, name => fileOf.GetValueOrDefault(name, File.Exists(index) ? index : single), model,
                optional: [], ignored: config.TieWordEmbeddings ? ["lm_head.weight"] : []);
            return model;
        }
        finally
        {
            foreach (var tensor in tensors.Values) tensor.Dispose();
        }
    }

    private static IEnumerable<string> WeightFiles(string folder, string index, string single)
    {
        if (File.Exists(single)) return [single];
        if (!File.Exists(index)) throw new StageInputException($"{single}: not found (nor {ShardIndexFile}): the folder has no weights");
        try
        {
            var map = JsonNode.Parse(File.ReadAllText(index))?["weight_map"] as JsonObject
                ?? throw new StageInputException($"{index}: weight_map is missing");
            var files = map.Select(p => Path.Combine(folder, p.Value!.GetValue<string>())).Distinct().Order(StringComparer.Ordinal).ToList();
            foreach (var file in files.Where(f => !File.Exists(f)))
                throw new StageInputException($"{index}: weight_map names {Path.GetFileName(file)}, which does not exist");
            return files;
        }
        catch (JsonException e) { throw new StageInputException($"{index}: not valid JSON ({e.Message})"); }
    }

    /// <summary>tokenizer.json (a byte-level BPE) or, without it, the GPT-2 style vocab.json + merges.txt.</summary>
    private static (BpeModel Model, string File) ReadTokenizer(string folder)
    {
        var path = Path.Combine(folder, TokenizerJsonFile);
        if (!File.Exists(path))
        {
            if (!File.Exists(Path.Combine(folder, BpeModel.VocabFile)))
                throw new StageInputException($"{path}: not found (nor {BpeModel.VocabFile} + {BpeModel.MergesFile}): the folder has no tokenizer");
            return (BpeModel.Load(folder), Path.Combine(folder, BpeModel.VocabFile));
        }
        try
        {
            var model = JsonNode.Parse(File.ReadAllText(path))?["model"] as JsonObject ?? throw new StageInputException($"{path}: model is missing");
            if (model["type"]?.GetValue<string>() != "BPE") throw new StageInputException($"{path}: model.type is not BPE");
            var vocab = model["vocab"] as JsonObject ?? throw new StageInputException($"{path}: model.vocab is missing");
            var tokens = new string?[vocab.Count];
            foreach (var (token, id) in vocab)
            {
                var i = id!.GetValue<int>();
                if (i < 0 || i >= tokens.Length) throw new StageInputException($"{path}: model.vocab gives '{token}' id {i}, outside 0..{tokens.Length - 1}");
                tokens[i] = token;
            }
            var byId = vocab.ToDictionary(p => p.Key, p => p.Value!.GetValue<int>());
            var merges = new List<(int, int)>();
            foreach (var merge in model["merges"] as JsonArray ?? [])
            {
                var parts = merge is JsonArray pair ? pair.Select(p => p!.GetValue<string>()).ToArray() : merge!.GetValue<string>().Split(' ');
                if (parts.Length != 2 || !byId.TryGetValue(parts[0], out var left) || !byId.TryGetValue(parts[1], out var right))
                    throw new StageInputException($"{path}: model.merges has '{string.Join(" ", parts)}', not a merge of two vocabulary tokens");
                merges.Add((left, right));
            }
            var bpe = new BpeModel(tokens!, merges);
            for (var i = 0; i < SpecialTokens.FirstId + SpecialTokens.All.Count; i++)
            {
                var expected = i < SpecialTokens.FirstId ? BpeModel.BytesOnly().Tokens[i] : SpecialTokens.All[i - SpecialTokens.FirstId];
                if (i >= tokens.Length || tokens[i] != expected)
                    throw new StageInputException($"{path}: model.vocab id {i} must be '{expected}' (this project's layout: byte tokens, then its special tokens)");
            }
            return (bpe, path);
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException or FormatException)
        {
            throw new StageInputException($"{path}: not a readable tokenizer.json ({e.Message})");
        }
    }

    private static void Require(JsonObject json, string path, string key, JsonNode expected)
    {
        var value = json[key];
        if (value is not null && !JsonNode.DeepEquals(value, expected))
            throw new StageInputException($"{path}: {key} is {value.ToJsonString()}, but this model supports only {expected.ToJsonString()}");
    }
}
