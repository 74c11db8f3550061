using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;
using MiniLlmPipeline.Tokenization;

namespace MiniLlmPipeline.Stages.Export;

/// <summary>
/// Our tokenizer in the Hugging Face <c>tokenizers</c> format (tokenizer.json) and transformers' side files
/// (tokenizer_config.json, generation_config.json), so <c>AutoTokenizer</c> and transformers.js load it unchanged.
/// </summary>
public static class HfTokenizerFiles
{
    /// <summary>
    /// <see cref="PreTokenSplitter.Pattern"/> rewritten for the regex engines that read tokenizer.json (Oniguruma in
    /// the Rust library, JavaScript's RegExp with the u flag in transformers.js): neither has .NET's class subtraction
    /// <c>[\p{L}-[…]]</c>, so "a letter that is not CJK" is <c>[^\P{L}…]</c>; the supplementary-plane ideographs, which
    /// .NET sees as surrogate pairs, are the code points U+20000–U+2FFFF written literally; <c>(?i:'s|…)</c> is spelled out
    /// case by case (JavaScript before ES2025 has no inline flags), as llama.cpp does. Same matches on every test text
    /// (TokenizerJsonTests), but Unicode-version and <c>\s</c> differences between the engines are not excluded for rare
    /// characters (JavaScript's \s omits U+0085, .NET's omits U+FEFF).
    /// </summary>
    public static readonly string PortablePattern =
        @"'(?:[sS]|[tT]|[rR][eE]|[vV][eE]|[mM]|[lL][lL]|[dD])" +
        @"|[\u3400-\u4DBF\u4E00-\u9FFF\uF900-\uFAFF" + char.ConvertFromUtf32(0x20000) + "-" + char.ConvertFromUtf32(0x2FFFF) + "]+" +
        @"|[^\r\n\p{L}\p{N}]?[^\P{L}\u3400-\u4DBF\u4E00-\u9FFF\uF900-\uFAFF" + char.ConvertFromUtf32(0x20000) + "-" + char.ConvertFromUtf32(0x2FFFF) + "]+" +
        @"|\p{N}{1,3}" +
        @"| ?[^\s\p{L}\p{N}]+[\r\n]*" +
        @"|\s*[\r\n]+" +
        @"|\s+(?!\S)" +
        @"|\s+";

    public const string TokenizerJson = "tokenizer.json";
    public const string GenerationConfig = "generation_config.json";

    public static string Json(BpeModel model)
    {
        var vocab = new JsonObject();
        for (var id = 0; id < model.Tokens.Count; id++) vocab[model.Tokens[id]] = id;
        var root = new JsonObject
        {
            ["version"] = "1.0",
            ["truncation"] = null,
            ["padding"] = null,
            ["added_tokens"] = new JsonArray([.. SpecialTokens.All.Select((t, i) => (JsonNode)new JsonObject
            {
                ["id"] = SpecialTokens.FirstId + i, ["content"] = t, ["single_word"] = false, ["lstrip"] = false,
                ["rstrip"] = false, ["normalized"] = false, ["special"] = true,
            })]),
            ["normalizer"] = null,
            ["pre_tokenizer"] = new JsonObject
            {
                ["type"] = "Sequence",
                ["pretokenizers"] = new JsonArray(
                    new JsonObject
                    {
                        ["type"] = "Split", ["pattern"] = new JsonObject { ["Regex"] = PortablePattern },
                        ["behavior"] = "Isolated", ["invert"] = false,
                    },
                    // use_regex false: the split above is the whole pre-tokenization; this only maps bytes to GPT-2's characters.
                    new JsonObject { ["type"] = "ByteLevel", ["add_prefix_space"] = false, ["trim_offsets"] = true, ["use_regex"] = false }),
            },
            ["post_processor"] = null, // no BOS/EOS added: our models never saw one at the start of a text
            ["decoder"] = new JsonObject { ["type"] = "ByteLevel", ["add_prefix_space"] = false, ["trim_offsets"] = true, ["use_regex"] = false },
            ["model"] = new JsonObject
            {
                ["type"] = "BPE", ["dropout"] = null, ["unk_token"] = null, ["continuing_subword_prefix"] = null,
                ["end_of_word_suffix"] = null, ["fuse_unk"] = false, ["byte_fallback"] = false, ["ignore_merges"] = false,
                ["vocab"] = vocab,
                ["merges"] = new JsonArray([.. model.Merges.Select(m => (JsonNode)new JsonArray(model.Tokens[m.Left], model.Tokens[m.Right]))]),
            },
        };
        return root.ToJsonString(Options);
    }

    /// <summary>tokenizer_config.json for transformers: the fast tokenizer from tokenizer.json, the special tokens, ChatML.</summary>
    public static string TokenizerConfig(BpeModel model) => new JsonObject
    {
        ["tokenizer_class"] = "PreTrainedTokenizerFast",
        ["model_max_length"] = null,
        ["bos_token"] = null,
        ["eos_token"] = SpecialTokens.EndOfText,
        ["pad_token"] = SpecialTokens.Pad,
        ["unk_token"] = null,
        ["add_bos_token"] = false,
        ["add_eos_token"] = false,
        ["clean_up_tokenization_spaces"] = false,
        ["additional_special_tokens"] = new JsonArray([.. SpecialTokens.All.Select(t => (JsonNode)t)]),
        ["added_tokens_decoder"] = new JsonObject(SpecialTokens.All.Select((t, i) => KeyValuePair.Create(
            (SpecialTokens.FirstId + i).ToString(), (JsonNode?)new JsonObject
            {
                ["content"] = t, ["lstrip"] = false, ["normalized"] = false, ["rstrip"] = false, ["single_word"] = false, ["special"] = true,
            }))),
        ["chat_template"] = ChatTemplate.JinjaTemplate,
        ["vocab_size"] = model.VocabSize,
    }.ToJsonString(Options);

    /// <summary>Generation stops at either end token: &lt;|endoftext|&gt; ends a document, &lt;|im_end|&gt; a chat turn.</summary>
    public static string GenerationConfigJson() => new JsonObject
    {
        ["bos_token_id"] = null,
        ["eos_token_id"] = new JsonArray(SpecialTokens.IdOf(SpecialTokens.EndOfText), SpecialTokens.IdOf(SpecialTokens.ImEnd)),
        ["pad_token_id"] = SpecialTokens.IdOf(SpecialTokens.Pad),
        ["do_sample"] = true,
        ["temperature"] = 0.8,
        ["top_p"] = 0.95,
    }.ToJsonString(Options);

    private static readonly JsonSerializerOptions Options = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping, WriteIndented = true };
}
