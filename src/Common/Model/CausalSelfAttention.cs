using TorchSharp;
using static TorchSharp.torch;

namespace MiniLlmPipeline.Model;

/// <summary>
/// Grouped-query causal self-attention (Ainslie et al., 2023): n_heads query heads share n_kv_heads
/// key/value heads, rotary positions on q and k, softmax(QKᵀ/√d)V through the fused
/// <c>scaled_dot_product_attention</c>. Under bf16 mixed precision q, k, v, the cache and the
/// attention itself are bf16 (the kernel accumulates in fp32); the output returns to the fp32 residual. In training with
/// dropout p the attention probabilities are dropped out inside the kernel (its dropout_p); otherwise dropout_p is 0 and
/// the kernel takes its fused path as before.
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
        var qk = RotaryEmbedding.Apply(qkv.narrow(2, 0, nHeads + nKvHeads), cos, sin);      // q and k rotated at once
        var q = qk.narrow(2, 0, nHeads).transpose(1, 2);                                      // (B, H, T, D)
        var k = qk.narrow(2, nHeads, nKvHeads).transpose(1, 2);                               // (B, Hkv, T, D)
        var v = qkv.narrow(2, nHeads + nKvHeads, nKvHeads).transpose(1, 2);                   // (B, Hkv, T, D)
        if (cache is not null) (k, v) = cache.Append(layer, k, v);               // (B, Hkv, S, D)

        // TorchSharp's SDPA has no enable_gqa: each kv head serves n_heads / n_kv_heads consecutive
        // query heads (HF repeat_kv order).
        if (nKvHeads != nHeads)
        {
            var groups = nHeads / nKvHeads;
            k = k.repeat_interleave(groups, dim: 1);                              // (B, H, S, D)
            v = v.repeat_interleave(groups, dim: 1);                              // (B, H, S, D)
        }
        // The kernel's dropout draws from torch's global generator, which the trainer seeds every step.
        var dropoutP = training ? dropout : 0.0;
        var y = Recorded is null
            ? nn.functional.scaled_dot_product_attention(q, k, v, mask, dropoutP, isCausal) // (B, H, T, D)
            : RecordedAttention(q, k, v, mask, isCausal, dropoutP);
        y = y.transpose(1, 2).contiguous().view(b, t, nHeads * headDim);          // (B, T, C)
        return o_proj.forward(y).MoveToOuterDisposeScope();                       // (B, T, C)
    }

    /// <summary>
    /// softmax(QKᵀ/√d + mask)·V written out in fp32, the same masks (and, in training, dropout) as the kernel, keeping the
    /// weights (B, H, T, S) in <see cref="Recorded"/> before any dropout: explain runs in eval mode, where there is none.
    /// </summary>
    private Tensor RecordedAttention(Tensor q, Tensor k, Tensor v, Tensor? mask, bool isCausal, double dropoutP)
    {
        var scores = q.to(float32).matmul(k.to(float32).transpose(-2, -1)) / Math.Sqrt(headDim); // (B, H, T, S)
        var (t, s) = (scores.shape[^2], scores.shape[^1]);
        var allowed = mask ?? (isCausal ? torch.ones(t, s, dtype: @bool, device: q.device).tril() : null);
        if (allowed is not null) scores = scores.masked_fill(allowed.logical_not(), double.NegativeInfinity);
        var weights = scores.softmax(-1);
        Recorded!.Add(weights.detach().DetachFromDisposeScope());
        if (dropoutP > 0) weights = nn.functional.dropout(weights, dropoutP, training: true);
        return weights.matmul(v.to(float32)).to(v.dtype);                        // (B, H, T, D)
    }
}
