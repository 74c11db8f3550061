using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace MiniLlmPipeline.Model;

/// <summary>
/// The transformer trunk without an output head — Hugging Face's <c>LlamaModel</c>, which is why
/// its parameters are exported under the prefix <c>model.</c>: token embedding, the blocks, the
/// final norm.
/// </summary>
public sealed class DecoderStack : nn.Module
{
    // Field names are the Hugging Face Llama parameter names.
    private readonly Embedding embed_tokens;
    private readonly ModuleList<TransformerBlock> layers;
    private readonly RmsNorm norm;
    private readonly RotaryEmbedding rotary_emb;
    private readonly double dropout;

    public DecoderStack(GptConfig config) : base(nameof(DecoderStack))
    {
        embed_tokens = nn.Embedding(config.VocabSize, config.DModel);
        layers = new ModuleList<TransformerBlock>(
            Enumerable.Range(0, config.NLayers).Select(_ => new TransformerBlock(config)).ToArray());
        norm = new RmsNorm(config.DModel, config.NormEps);
        rotary_emb = new RotaryEmbedding(config.HeadDim, config.MaxSeqLen, config.RopeTheta);
        dropout = config.Dropout;
        RegisterComponents();
    }

    internal Embedding EmbedTokens => embed_tokens;

    internal IEnumerable<TransformerBlock> Layers => layers;

    /// <summary>See <see cref="Gpt.HiddenStates"/>.</summary>
    public Tensor Forward(Tensor ids, Tensor? attentionMask, KvCache? cache)
    {
        using var scope = torch.NewDisposeScope();
        var (b, t) = (ids.shape[0], ids.shape[1]);
        long past = cache?.Length ?? 0;
        var s = past + t;
        if (attentionMask is not null && (attentionMask.shape[0] != b || attentionMask.shape[1] != s))
            throw new ArgumentException($"attention mask must be (B, S) = ({b}, {s}), got ({string.Join(", ", attentionMask.shape)})");

        // With padding, a token's position is the number of real tokens before it.
        var (cos, sin) = attentionMask is null
            ? rotary_emb.ForRange(past, t)
            : rotary_emb.ForPositions((attentionMask.to(int64).cumsum(1) - 1).clamp_min(0).narrow(1, past, t)); // (B, T)
        var (mask, isCausal) = AttentionMask(attentionMask, past, t, ids.device);

        var x = embed_tokens.forward(ids); // (B, T, C)
        // Embedding dropout (GPT-2's embd_pdrop); drawn from torch's global generator, which the trainer seeds every step.
        if (training && dropout > 0) x = nn.functional.dropout(x, dropout, training: true);
        for (var i = 0; i < layers.Count; i++)
            x = layers[i].Forward(x, cos, sin, mask, isCausal, cache, i);
        cache?.Advance((int)t);
        return norm.forward(x).MoveToOuterDisposeScope(); // (B, T, C)
    }

    /// <summary>
    /// The boolean mask for SDPA (true = may attend), or null with is_causal when the kernel's own
    /// causal mask suffices (no padding and no cached prefix: the fast path for training).
    /// </summary>
    private static (Tensor? Mask, bool IsCausal) AttentionMask(Tensor? keyMask, long past, long t, Device device)
    {
        if (keyMask is null && past == 0) return (null, t > 1);
        if (keyMask is null && t == 1) return (null, false);
        var queryPos = torch.arange(past, past + t, device: device).unsqueeze(1); // (T, 1)
        var keyPos = torch.arange(past + t, device: device).unsqueeze(0);         // (1, S)
        var causal = keyPos <= queryPos;                                          // (T, S)
        if (keyMask is null) return (causal, false);
        // A padding query would see no key at all (softmax of nothing = NaN, which leaks through
        // 0·NaN in the next layer), so every position may always attend to itself.
        var mask = causal & keyMask.unsqueeze(1).unsqueeze(1) | keyPos == queryPos; // (B, 1, T, S)
        return (mask, false);
    }
}
