using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;
using MiniLlmPipeline.IO;
using MiniLlmPipeline.Pipeline;

namespace MiniLlmPipeline.Tokenization;

/// <summary>
/// A trained byte-level BPE: the token strings by id (256 bytes in GPT-2's printable form, then
/// <see cref="SpecialTokens"/>, then one token per learned merge) and the merges in the order they were
/// learned. Saved in the standard GPT-2 layout — <c>vocab.json</c>, <c>merges.txt</c> — plus a
/// <c>tokenizer_config.json</c> naming the special tokens, the pre-tokenizer pattern and the chat template.
/// </summary>
public sealed class BpeModel
{
    public const string VocabFile = "vocab.json";
    public const string MergesFile = "merges.txt";
    public const string ConfigFile = "tokenizer_config.json";

    public IReadOnlyList<string> Tokens { get; }
    public IReadOnlyList<(int Left, int Right)> Merges { get; }

    public BpeModel(IReadOnlyList<string> tokens, IReadOnlyList<(int Left, int Right)> merges)
    {
        Tokens = tokens;
        Merges = merges;
    }

    /// <summary>A model with no merges: every byte is its own token.</summary>
    public static BpeModel BytesOnly() => new([.. Enumerable.Range(0, 256).Select(b => ByteLevelAlphabet.ByteToChar[b].ToString()), .. SpecialTokens.All], []);

    public int VocabSize => Tokens.Count;

    /// <summary>Writes the three files into <paramref name="directory"/>, each atomically.</summary>
    public void Save(string directory)
    {
        Directory.CreateDirectory(directory);
        // One entry per line in id order (tokens are unique: a merge that rebuilds an existing string reuses its id).
        var vocabText = "{\n" + string.Join(",\n", Tokens.Select((t, id) => $"  {JsonSerializer.Serialize(t, Json)}: {id}")) + "\n}\n";
        AtomicFile.WriteAllText(Path.Combine(directory, VocabFile), vocabText);

        var merges = new StringBuilder("#version: 0.2\n");
        foreach (var (left, right) in Merges) merges.Append(Tokens[left]).Append(' ').Append(Tokens[right]).Append('\n');
        AtomicFile.WriteAllText(Path.Combine(directory, MergesFile), merges.ToString());

        var config = new JsonObject
        {
            ["tokenizer_class"] = "GPT2Tokenizer",
            ["model_type"] = "byte_level_bpe",
            ["vocab_size"] = Tokens.Count,
            ["bos_token"] = null,
            ["eos_token"] = SpecialTokens.EndOfText,
            ["pad_token"] = SpecialTokens.Pad,
            ["unk_token"] = null,
            ["additional_special_tokens"] = new JsonArray([.. SpecialTokens.All.Select(t => (JsonNode)t)]),
            ["added_tokens_decoder"] = new JsonObject(SpecialTokens.All.Select((t, i) => KeyValuePair.Create(
                (SpecialTokens.FirstId + i).ToString(), (JsonNode?)new JsonObject
                {
                    ["content"] = t, ["lstrip"] = false, ["normalized"] = false, ["rstrip"] = false, ["single_word"] = false, ["special"] = true,
                }))),
            ["pre_tokenizer_pattern"] = PreTokenSplitter.Pattern,
            ["chat_template"] = ChatTemplate.JinjaTemplate,
        };
        AtomicFile.WriteAllText(Path.Combine(directory, ConfigFile), config.ToJsonString(JsonIndented) + "\n");
    }

    /// <summary>Reads a tokenizer folder written by <see cref="Save"/>; a missing or damaged file is a <see cref="StageInputException"/>.</summary>
    public static BpeModel Load(string directory)
    {
        var vocabPath = Path.Combine(directory, VocabFile);
        var mergesPath = Path.Combine(directory, MergesFile);
        foreach (var path in new[] { vocabPath, mergesPath, Path.Combine(directory, ConfigFile) })
            if (!File.Exists(path)) throw new StageInputException($"{path}: tokenizer file not found (run the tokenize stage first)");

        Dictionary<string, int> vocab;
        try { vocab = JsonSerializer.Deserialize<Dictionary<string, int>>(File.ReadAllText(vocabPath)) ?? []; }
        catch (JsonException e) { throw new StageInputException($"{vocabPath}: not a valid vocab.json ({e.Message})"); }
        var tokens = new string?[vocab.Count == 0 ? 0 : vocab.Values.Max() + 1];
        foreach (var (token, id) in vocab)
        {
            if (id < 0) throw new StageInputException($"{vocabPath}: negative id {id} for '{token}'");
            tokens[id] = token;
        }
        for (var i = 0; i < SpecialTokens.FirstId + SpecialTokens.All.Count; i++)
        {
            var expected = i < SpecialTokens.FirstId ? ByteLevelAlphabet.ByteToChar[i].ToString() : SpecialTokens.All[i - SpecialTokens.FirstId];
            if (i >= tokens.Length || tokens[i] != expected)
                throw new StageInputException($"{vocabPath}: id {i} must be '{expected}' (byte tokens, then special tokens)");
        }

        var merges = new List<(int, int)>();
        var lineNumber = 0;
        foreach (var line in File.ReadLines(mergesPath))
        {
            lineNumber++;
            if (line.Length == 0 || line.StartsWith("#version", StringComparison.Ordinal)) continue;
            var parts = line.Split(' ');
            if (parts.Length != 2 || !vocab.TryGetValue(parts[0], out var left) || !vocab.TryGetValue(parts[1], out var right)
                || !vocab.ContainsKey(parts[0] + parts[1]))
                throw new StageInputException($"{mergesPath}:{lineNumber}: not a merge of two vocabulary tokens: '{line}'");
            merges.Add((left, right));
        }
        var missing = Array.IndexOf(tokens, null);
        if (missing >= 0) throw new StageInputException($"{vocabPath}: no token has id {missing}");
        return new BpeModel(tokens!, merges);
    }

    private static readonly JsonSerializerOptions Json = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };
    private static readonly JsonSerializerOptions JsonIndented = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping, WriteIndented = true };
}
