using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace MiniLlmPipeline.Model;

/// <summary>
/// Decoder-only Llama-style language model: token embedding → N pre-norm blocks (RMSNorm, grouped-query
/// attention with RoPE, SwiGLU) → final RMSNorm → logits through the transposed embedding (tied
/// input/output embeddings, Press &amp; Wolf, 2017). No biases anywhere. Parameter names equal
/// Hugging Face <c>LlamaForCausalLM</c>'s with <c>tie_word_embeddings</c> (no <c>lm_head.weight</c>); an imported
/// untied model (<see cref="GptConfig.TieWordEmbeddings"/> false) has its own <c>lm_head.weight</c>.
/// </summary>
public sealed class Gpt : nn.Module<Tensor, Tensor>
{
    private readonly DecoderStack model;
    // Field name = the Hugging Face parameter name; null (and so not registered) when tied.
    private readonly Linear? lm_head;

    public Gpt(GptConfig config) : base(nameof(Gpt))
    {
        Config = config;
        model = new DecoderStack(config);
        if (!config.TieWordEmbeddings) lm_head = nn.Linear(config.DModel, config.VocabSize, hasBias: false);
        RegisterComponents();
        InitializeWeights();
    }

    public GptConfig Config { get; }

    /// <summary>The trunk (HF <c>LlamaModel</c>), shared with heads built on this model.</summary>
    public DecoderStack Backbone => model;

    /// <summary>Every trainable weight, the tied embedding counted once.</summary>
    public long ParameterCount => parameters().Sum(p => p.numel());

    /// <summary>ids (B, T) int64 → next-token logits (B, T, V).</summary>
    public override Tensor forward(Tensor ids)
    {
        using var scope = torch.NewDisposeScope();
        return Logits(HiddenStates(ids)).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// Final-norm hidden states (B, T, C) for ids (B, T). <paramref name="attentionMask"/> (B, S) bool
    /// (true = real token, over all S = cached + T key positions) serves left-padded batches: a token's
    /// position is then the number of real tokens before it. Without a mask positions count from the
    /// cache length and only the causal mask applies. <paramref name="cache"/> receives this call's
    /// keys and values.
    /// </summary>
    public Tensor HiddenStates(Tensor ids, Tensor? attentionMask = null, KvCache? cache = null) =>
        model.Forward(ids, attentionMask, cache);

    /// <summary>
    /// hidden (..., C) → logits (..., V) = hidden · Eᵀ with the token embedding E (or the untied lm_head), always fp32: the
    /// logits feed the loss directly, and rounding them to bf16 measurably slowed learning (bench/README.md).
    /// </summary>
    public Tensor Logits(Tensor hidden) => nn.functional.linear(hidden, OutputWeight);

    /// <summary>The output layer's weight (V, C): the token embedding when tied, else lm_head's.</summary>
    public Tensor OutputWeight => lm_head?.weight ?? model.EmbedTokens.weight!;

    /// <summary>
    /// Training FLOPs per token (PaLM, Chowdhery et al. 2022, appendix B): 6·N for the weight matmuls
    /// (forward + backward) plus 12·L·d·T for attention scores and values over a context of T.
    /// N includes the embedding because, tied, it is also the output projection, a real
    /// d×V matmul per token (the lookup itself is free).
    /// </summary>
    public double FlopsPerToken(int seqLen) =>
        6.0 * ParameterCount + 12.0 * Config.NLayers * Config.DModel * seqLen;

    /// <summary>
    /// N(0, 0.02) everywhere, with the projections that write into the residual stream (o_proj,
    /// down_proj) scaled by 1/√(2·n_layers) so the residual's variance does not grow with depth
    /// (GPT-2, Radford et al. 2019, §2.3). Norm gains start at 1.
    /// </summary>
    private void InitializeWeights()
    {
        const double std = 0.02;
        var residualStd = std / Math.Sqrt(2.0 * Config.NLayers);
        using var noGrad = torch.no_grad();
        nn.init.normal_(model.EmbedTokens.weight!, 0, std);
        if (lm_head is not null) nn.init.normal_(lm_head.weight!, 0, std);
        foreach (var block in model.Layers)
        {
            foreach (var linear in block.modules().OfType<MixedPrecisionLinear>())
                nn.init.normal_(linear.Weight, 0, std);
            nn.init.normal_(block.Attention.OutputProjection.Weight, 0, residualStd);
            nn.init.normal_(block.Mlp.OutputProjection.Weight, 0, residualStd);
        }
    }
}
