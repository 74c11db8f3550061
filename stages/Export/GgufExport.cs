using System.Text.RegularExpressions;
using MiniLlmPipeline.Model;
using MiniLlmPipeline.Tokenization;
using TorchSharp;
using static TorchSharp.torch;

namespace MiniLlmPipeline.Stages.Export;

/// <summary>
/// Our Llama-shaped <see cref="Gpt"/> and its byte-level BPE as a GGUF file llama.cpp runs unchanged
/// (architecture <c>llama</c>), laid out like llama.cpp's convert_hf_to_gguf.py writes a Hugging Face Llama:
/// the same tensor names, the same Q/K row permutation, norms kept f32, the tokenizer as <c>gpt2</c> BPE.
/// </summary>
public static partial class GgufExport
{
    /// <summary>
    /// llama.cpp has no free-form pre-tokenizer: <c>tokenizer.ggml.pre</c> picks one of its built-in splits. None equals
    /// ours (<see cref="PreTokenSplitter"/>, cl100k plus CJK runs as their own pre-token). "dbrx" is cl100k/Llama-3's
    /// split without Llama-3's ignore_merges shortcut (llama-vocab.cpp), so it differs from ours only where a CJK run
    /// touches a letter or one punctuation mark before it (ours: "，" | "春望", "春" | "abc"; dbrx: "，春望", "春abc").
    /// Our merges never join across those boundaries (training never saw such a pair inside one pre-token), so BPE
    /// gives the same ids in practice; ExportTests checks mixed Chinese/English/emoji text id for id.
    /// </summary>
    public const string LlamaCppPreTokenizer = "dbrx";

    public static GgufWriter Build(Gpt model, TextTokenizer tokenizer, string name, ExportQuant quant)
    {
        var config = model.Config;
        var gguf = new GgufWriter();
        gguf.Add("general.architecture", "llama");
        gguf.Add("general.name", name);
        gguf.Add("general.file_type", quant switch { ExportQuant.F32 => 0u, ExportQuant.F16 => 1u, _ => 7u }); // llama_ftype
        if (quant == ExportQuant.Q8_0) gguf.Add("general.quantization_version", 2u);
        gguf.Add("llama.context_length", (uint)config.MaxSeqLen);
        gguf.Add("llama.embedding_length", (uint)config.DModel);
        gguf.Add("llama.block_count", (uint)config.NLayers);
        gguf.Add("llama.feed_forward_length", (uint)config.FfnHidden);
        gguf.Add("llama.attention.head_count", (uint)config.NHeads);
        gguf.Add("llama.attention.head_count_kv", (uint)config.NKvHeads);
        gguf.Add("llama.rope.freq_base", (float)config.RopeTheta);
        gguf.Add("llama.rope.dimension_count", (uint)config.HeadDim);
        gguf.Add("llama.attention.layer_norm_rms_epsilon", (float)config.NormEps);
        gguf.Add("llama.vocab_size", (uint)config.VocabSize);
        AddTokenizer(gguf, tokenizer);

        foreach (var (hfName, parameter) in model.named_parameters())
        {
            var ggufName = TensorName(hfName);
            using var scope = torch.NewDisposeScope();
            var weight = parameter.detach().to(float32).cpu();
            if (ggufName.EndsWith(".attn_q.weight", StringComparison.Ordinal)) weight = Permute(weight, config.NHeads);
            else if (ggufName.EndsWith(".attn_k.weight", StringComparison.Ordinal)) weight = Permute(weight, config.NKvHeads);
            var values = weight.contiguous().data<float>().ToArray();
            // As convert_hf_to_gguf.py: 1-D tensors (the norm gains) stay f32; a row that does not split into q8_0 blocks falls back to f16.
            var type = weight.dim() == 1 ? GgmlType.F32 : quant switch
            {
                ExportQuant.F32 => GgmlType.F32,
                ExportQuant.F16 => GgmlType.F16,
                _ => TensorEncoding.FitsQ8(weight.shape[^1]) ? GgmlType.Q8_0 : GgmlType.F16,
            };
            gguf.AddTensor(ggufName, weight.shape, type, TensorEncoding.Encode(values, type));
        }
        return gguf;
    }

    /// <summary>
    /// Hugging Face Llama applies RoPE "rotate_half" style (pairs i and i + d/2 of a head); llama.cpp's llama
    /// architecture rotates adjacent pairs (2i, 2i+1). convert_hf_to_gguf.py's LlamaModel.permute reorders each
    /// head's rows so adjacent rows are the former halves: view (heads, 2, d/2, in), swap the middle axes.
    /// Our RotaryEmbedding is the HF layout, so the same permutation applies.
    /// </summary>
    public static Tensor Permute(Tensor weight, int heads)
    {
        var (rows, cols) = (weight.shape[0], weight.shape[1]);
        return weight.reshape(heads, 2, rows / heads / 2, cols).transpose(1, 2).reshape(rows, cols);
    }

    /// <summary>The llama.cpp name of one of our (Hugging Face) parameter names.</summary>
    public static string TensorName(string hfName)
    {
        switch (hfName)
        {
            case "model.embed_tokens.weight": return "token_embd.weight";
            case "model.norm.weight": return "output_norm.weight";
            case "lm_head.weight": return "output.weight";
        }
        var match = LayerParameter().Match(hfName);
        if (!match.Success) throw new ArgumentException($"no GGUF name for parameter {hfName}", nameof(hfName));
        var role = match.Groups[2].Value switch
        {
            "input_layernorm" => "attn_norm",
            "self_attn.q_proj" => "attn_q",
            "self_attn.k_proj" => "attn_k",
            "self_attn.v_proj" => "attn_v",
            "self_attn.o_proj" => "attn_output",
            "post_attention_layernorm" => "ffn_norm",
            "mlp.gate_proj" => "ffn_gate",
            "mlp.up_proj" => "ffn_up",
            "mlp.down_proj" => "ffn_down",
            var other => throw new ArgumentException($"no GGUF name for parameter {hfName} ({other})", nameof(hfName)),
        };
        return $"blk.{match.Groups[1].Value}.{role}.weight";
    }

    /// <summary>
    /// The BPE as llama.cpp's gpt2 tokenizer: the byte-level token strings by id, their types (1 normal, 3 control for
    /// the special tokens, matched whole when parsing specials), the merges by rank. No BOS is added: our models
    /// never saw one; documents end with &lt;|endoftext|&gt;, chat turns with &lt;|im_end|&gt;, both end-of-generation in llama.cpp.
    /// </summary>
    private static void AddTokenizer(GgufWriter gguf, TextTokenizer tokenizer)
    {
        var model = tokenizer.Model;
        gguf.Add("tokenizer.ggml.model", "gpt2");
        gguf.Add("tokenizer.ggml.pre", LlamaCppPreTokenizer);
        gguf.Add("tokenizer.ggml.tokens", model.Tokens);
        gguf.Add("tokenizer.ggml.token_type", model.Tokens.Select((_, id) => IsSpecial(id) ? 3 : 1).ToList());
        gguf.Add("tokenizer.ggml.merges", model.Merges.Select(m => model.Tokens[m.Left] + " " + model.Tokens[m.Right]).ToList());
        gguf.Add("tokenizer.ggml.bos_token_id", (uint)tokenizer.EndOfTextId);
        gguf.Add("tokenizer.ggml.eos_token_id", (uint)tokenizer.EndOfTextId);
        gguf.Add("tokenizer.ggml.padding_token_id", (uint)tokenizer.PadId);
        gguf.Add("tokenizer.ggml.add_bos_token", false);
        gguf.Add("tokenizer.ggml.add_eos_token", false);
        gguf.Add("tokenizer.chat_template", ChatTemplate.JinjaTemplate);
    }

    private static bool IsSpecial(int id) => id >= SpecialTokens.FirstId && id < SpecialTokens.FirstId + SpecialTokens.All.Count;

    [GeneratedRegex(@"^model\.layers\.(\d+)\.(.+)\.weight$")]
    private static partial Regex LayerParameter();
}
