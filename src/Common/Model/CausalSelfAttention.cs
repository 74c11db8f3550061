using TorchSharp;
using static TorchSharp.torch;

namespace MiniLlmPipeline.Model;

/// <summary>
/// Grouped-query causal self-attention (Ainslie et al., 2023): n_heads query heads share n_kv_heads
/// key/value heads, rotary positions on q and k, softmax(QKᵀ/√d)V: in one C# kernel for up to 256 keys
/// (<see cref="FusedCausalAttention"/>: fp32 on the CPU, plain causal, no dropout), with its scores written out for up
/// to 128 (<see cref="ExplicitAttention"/>: masks, bf16, recorded weights), both faster there than the fused
/// <c>scaled_dot_product_attention</c>, which takes longer contexts and decoding with a cache. Under bf16 mixed
/// precision q, k, v and the cache are bf16 (the explicit scores and softmax fp32, SDPA accumulating in fp32); the
/// output returns to the fp32 residual. In training with dropout p the attention probabilities are dropped out (SDPA's
/// dropout_p, or after the explicit softmax).
/// </summary>
public sealed class CausalSelfAttention : nn.Module
{
    // Field names are the Hugging Face Llama parameter names.
    private readonly MixedPrecisionLinear q_proj;
    private readonly MixedPrecisionLinear k_proj;
    private readonly MixedPrecisionLinear v_proj;
    private readonly MixedPrecisionLinear o_proj;
    private readonly int nHeads;
    private readonly int nKvHeads;
    private readonly int headDim;
    private readonly double dropout;

    public CausalSelfAttention(GptConfig config) : base(nameof(CausalSelfAttention))
    {
        nHeads = config.NHeads;
        nKvHeads = config.NKvHeads;
        headDim = config.HeadDim;
        dropout = config.Dropout;
        q_proj = new MixedPrecisionLinear(config.DModel, nHeads * headDim, config.MatmulDtype);
        k_proj = new MixedPrecisionLinear(config.DModel, nKvHeads * headDim, config.MatmulDtype);
        v_proj = new MixedPrecisionLinear(config.DModel, nKvHeads * headDim, config.MatmulDtype);
        o_proj = new MixedPrecisionLinear(nHeads * headDim, config.DModel, config.MatmulDtype);
        RegisterComponents();
    }

    /// <summary>
    /// Where <see cref="AttentionRecording"/> collects this layer's softmax weights; null (always, but while a
    /// sequence is being explained) takes the fused kernel, which returns none.
    /// </summary>
    internal List<Tensor>? Recorded { get; set; }

    /// <summary>The projection that writes into the residual stream (scaled at init).</summary>
    internal MixedPrecisionLinear OutputProjection => o_proj;

    /// <param name="x">(B, T, C)</param>
    /// <param name="cos">rotary cos for the T query positions, (T, 1, D) or (B, T, 1, D)</param>
    /// <param name="sin">rotary sin, same shape as <paramref name="cos"/></param>
    /// <param name="mask">(B, 1, T, S) bool, true = may attend; null with <paramref name="isCausal"/> for plain causal</param>
    /// <param name="isCausal">use the kernel's built-in causal mask (only valid when T == S)</param>
    /// <param name="cache">keys/values of earlier positions, appended to in place</param>
    /// <param name="layer">this block's index in the cache</param>
    public Tensor Forward(Tensor x, Tensor cos, Tensor sin, Tensor? mask, bool isCausal, KvCache? cache, int layer)
    {
        using var scope = torch.NewDisposeScope();
        var (b, t) = (x.shape[0], x.shape[1]);
        // One matmul for q, k and v; their heads lie side by side: H query, Hkv key, Hkv value heads.
        var qkv = MixedPrecisionLinear.ForwardConcatenated(x, q_proj, k_proj, v_proj)
            .view(b, t, nHeads + 2 * nKvHeads, headDim);                                     // (B, T, H + 2·Hkv, D)
        // fp32 on the CPU: one kernel splits the heads into q, k and v and rotates q and k (FusedRotaryQkv); otherwise as
        // tensor operations, with splits, not narrows: a split's backward concatenates its parts' gradients once, where
        // every narrow's writes into a zeroed copy of the whole tensor for autograd to sum.
        Tensor q, k, v;
        if (FusedRotaryQkv.Accepts(qkv, cos, sin)) (q, k, v) = FusedRotaryQkv.Apply(qkv, cos, sin, nHeads, nKvHeads);
        else
        {
            var qkAndV = qkv.split([nHeads + nKvHeads, nKvHeads], 2);
            var qk = RotaryEmbedding.Apply(qkAndV[0], cos, sin).split([nHeads, nKvHeads], 2); // q and k rotated at once
            q = qk[0].transpose(1, 2);                                                    // (B, H, T, D)
            k = qk[1].transpose(1, 2);                                                    // (B, Hkv, T, D)
            v = qkAndV[1].transpose(1, 2);                                                // (B, Hkv, T, D)
        }
        if (cache is not null) (k, v) = cache.Append(layer, k, v);               // (B, Hkv, S, D)

        var dropoutP = training ? dropout : 0.0;
        // fp32 on the CPU, plain causal, short context: one kernel from q, k, v to (B, T, C) (FusedCausalAttention).
        if (cache is null && mask is null && isCausal && dropoutP == 0 && Recorded is null && k.shape[2] <= FusedMaxKeys
            && FusedCausalAttention.Accepts(q, k, v))
            return o_proj.forward(FusedCausalAttention.Apply(q, k, v)).MoveToOuterDisposeScope();
        Tensor y;                                                                 // (B, H, T, D)
        // The kernel returns no weights, so a recorded pass always writes the scores out.
        if (Recorded is not null || (cache is null && dropoutP == 0 && k.shape[2] <= ExplicitScoresMaxKeys))
            y = ExplicitAttention(q, k, v, mask, isCausal, dropoutP);
        else
        {
            // TorchSharp's SDPA has no enable_gqa: each kv head serves n_heads / n_kv_heads consecutive
            // query heads (HF repeat_kv order).
            if (nKvHeads != nHeads)
            {
                var groups = nHeads / nKvHeads;
                k = k.repeat_interleave(groups, dim: 1);                          // (B, H, S, D)
                v = v.repeat_interleave(groups, dim: 1);                          // (B, H, S, D)
            }
            // The kernel's dropout draws from torch's global generator, which the trainer seeds every step.
            y = nn.functional.scaled_dot_product_attention(q, k, v, mask, dropoutP, isCausal);
        }
        y = y.transpose(1, 2).contiguous().view(b, t, nHeads * headDim);          // (B, T, C)
        return o_proj.forward(y).MoveToOuterDisposeScope();                       // (B, T, C)
    }

    /// <summary>
    /// Up to this many keys (the default model's 128-token context) attention that <see cref="FusedCausalAttention"/> does
    /// not take (bf16, padding masks, recorded weights, T not a multiple of 4) runs as <see cref="ExplicitAttention"/>.
    /// Measured, before the fused kernel, on the 2-core machine for 16 sequences of 8 heads (4 key/value heads) of 32
    /// dims, forward and backward, against SDPA's CPU flash kernel: at 128 keys 15.7 → 11.7 ms in fp32 and 21.0 → 12.7 ms in bf16; at 256 keys
    /// 41.8 → 39.1 ms in fp32 (forward alone slower, 11.9 → 14.9 ms) and 41.6 → 35.8 ms in bf16. Longer contexts take
    /// the kernel, whose memory does not grow with T·S.
    /// </summary>
    internal const int ExplicitScoresMaxKeys = 128;

    /// <summary>
    /// Up to this many keys fp32 causal attention runs as <see cref="FusedCausalAttention"/>, whose saved probabilities,
    /// B·H·T² floats a layer, grow with the square of the context (34 MB a layer for the bench's large model). Forward and
    /// backward of one layer, 16 sequences of 8 heads (4 key/value heads): at 128 keys of 32 dims 8.9–9.3 ms explicit →
    /// 3.9–4.3 fused; at 256 keys of 64 dims 66–68 ms through SDPA's flash kernel → 24.5–25.4 fused.
    /// </summary>
    internal const int FusedMaxKeys = 256;

    /// <summary>
    /// softmax(QKᵀ/√d + mask)·V with the (T, S) scores written out, which for short contexts beats the CPU flash kernel
    /// (<see cref="ExplicitScoresMaxKeys"/>): two batched GEMMs and one softmax instead of a tiled loop over 32-row blocks.
    /// Grouped-query attention folds the n_heads / n_kv_heads query heads that share a key/value head into the rows of one
    /// matrix, (B, Hkv, g·T, D) against (B, Hkv, S, D), so keys and values are never repeated. The scores and the softmax
    /// are fp32 and the probabilities return to V's dtype for the product with V, as the kernel does. Masking: −∞ where a
    /// key may not be seen (the causal triangle, or the given mask, which always lets a position see itself). The weights
    /// (B, H, T, S) go to <see cref="Recorded"/> when a pass records them, before any dropout (explain runs in eval mode,
    /// where there is none); in training with dropout p they are dropped out here, as the kernel would.
    /// </summary>
    internal Tensor ExplicitAttention(Tensor q, Tensor k, Tensor v, Tensor? mask, bool isCausal, double dropoutP = 0)
    {
        var (b, t, s) = (q.shape[0], q.shape[2], k.shape[2]);
        var groups = nHeads / nKvHeads;
        // fp32 scores even under bf16 matmuls, as the kernel keeps them: a bf16 product would round each score to ~3
        // significant digits before the softmax (a pretrain that did so ended at validation perplexity 175.7, not 166.3).
        var scale = 1.0f / MathF.Sqrt(headDim);
        var queries = q.to(float32).reshape(b * nKvHeads, groups * t, headDim);        // (B·Hkv, g·T, D), row i·T + t
        var keys = k.to(float32).reshape(b * nKvHeads, s, headDim).transpose(1, 2);    // (B·Hkv, D, S)
        var allowed = mask ?? (isCausal ? torch.ones(t, s, dtype: @bool, device: q.device).tril() : null); // (B, 1, T, S) or (T, S)
        Tensor scores;                                                            // (B·Hkv, g·T, S)
        if (allowed is null) scores = queries.bmm(keys).mul_(scale);
        else
        {
            // An added −∞ bias, not masked_fill_: the fill's backward masks the gradient again, one more pass over the
            // scores (fwd + bwd a layer 10.4 → 12.6 ms in bf16, 9.9 → 11.6 in fp32); the softmax already gives it zeros.
            var bias = torch.zeros(allowed.shape, dtype: float32, device: q.device).masked_fill_(allowed.logical_not(), double.NegativeInfinity);
            // One (T, S) mask for every sequence: the GEMM adds the bias and scales the product itself (β = 1, α = 1/√d),
            // two passes over the scores fewer than a product, a scaling and an addition. TorchSharp's order is
            // batch1.baddbmm(batch2, input).
            scores = allowed.dim() == 2
                ? queries.baddbmm(keys, bias.repeat(groups, 1), beta: 1, alpha: scale)
                : queries.bmm(keys).mul_(scale).view(b, nKvHeads, groups * t, s).add_(bias.repeat(1, 1, groups, 1))
                    .view(b * nKvHeads, groups * t, s);
        }
        var weights = scores.softmax(-1);
        Recorded?.Add(weights.view(b, nHeads, t, s).detach().DetachFromDisposeScope());
        if (dropoutP > 0) weights = nn.functional.dropout(weights, dropoutP, training: true);
        return weights.to(v.dtype).bmm(v.reshape(b * nKvHeads, s, headDim)).view(b, nHeads, t, headDim); // (B, H, T, D)
    }
}
