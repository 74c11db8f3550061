using TorchSharp;
using static TorchSharp.torch;

namespace MiniLlmPipeline.Alignment;

/// <summary>
/// The output layer and the next-token cross-entropy in one, up to 2048 rows at a time (<see cref="DefaultLogitsPerChunk"/>),
/// so that the logits and their gradient are never kept for the backward pass and larger batches never hold all their
/// (B·T, V) logits at once: the fused linear cross-entropy of Liger Kernel (Hsu et al., 2024) and "Cut Your Losses in
/// Large-Vocabulary Language Models" (Wijmans et al., 2024). Unfused, for a batch of 4096 rows × 4096 tokens, the logits,
/// their log-softmax and their gradients were four 64 MB tensors alive at once at the start of the backward pass, the
/// largest part of pretraining's peak memory.
/// <para>The loss is that of <see cref="NextTokenCrossEntropy.Compute"/> on hidden·Wᵀ: the mean over every token, or
/// with a mask −Σ m·log p(y) / Σ m (0 when the mask selects nothing). While gradients are recorded, each chunk's
/// gradient is computed as soon as its logits are, as Liger does — ∂L/∂z = (softmax(z) − onehot(y))·m / Σ m, then
/// ∂L/∂h = ∂L/∂z·W and ∂L/∂W += (∂L/∂z)ᵀ·h — and kept until the backward pass scales it by the incoming gradient:
/// the same three products per chunk as the unfused layer, no recomputation. The logits are fp32, as
/// <see cref="Model.Gpt.Logits"/>'s are.</para>
/// <para>With bf16 matmuls the two gradient products run in bf16 (fp32 accumulation inside the GEMM, as autocast's backward
/// does on GPUs), while the logits, and so the loss, stay fp32: rounding the logits slowed learning, rounding ∂L/∂z —
/// probabilities minus a one-hot, scaled — does not measurably (bench precision row). In fp32 the head's three products
/// were 17 % of a bf16 pretrain step.</para>
/// </summary>
public static class FusedLinearCrossEntropy
{
    /// <summary>
    /// ~8M logits (32 MB in fp32) per chunk: 2048 rows of the default model's 4096-token vocabulary, a whole default
    /// pretraining batch. A quarter of that (512 rows, the default before) made the fp32 head ~15–30 % slower — four
    /// narrower GEMMs and four rounds of row kernels instead of one — for 24 MB less at peak (bench/README.md).
    /// </summary>
    public const long DefaultLogitsPerChunk = 1 << 23;

    /// <summary>
    /// The cross-entropy of hidden (B, T, C) · weightᵀ (weight (V, C)) against targets (B, T), masked by mask (B, T)
    /// when given; differentiable in <paramref name="hidden"/> and <paramref name="weight"/>. A chunk holds as many
    /// rows as fit in <paramref name="logitsPerChunk"/> logits (at least one). <paramref name="gradientDtype"/> is the dtype
    /// of the two gradient products (the model's matmul dtype); the logits are fp32 whatever it is.
    /// </summary>
    public static Tensor Compute(Tensor hidden, Tensor weight, Tensor targets, Tensor? mask = null, long logitsPerChunk = DefaultLogitsPerChunk,
        ScalarType gradientDtype = ScalarType.Float32)
    {
        RequireShapes(hidden, weight, targets);
        if (mask is not null && (mask.shape[0] != targets.shape[0] || mask.shape[1] != targets.shape[1]))
            throw new ArgumentException($"Expected a mask shaped like the targets [{string.Join(",", targets.shape)}], got [{string.Join(",", mask.shape)}].", nameof(mask));
        var recordsGradient = torch.is_grad_enabled() && (hidden.requires_grad || weight.requires_grad);
        if (!recordsGradient)
        {
            using var noGrad = torch.no_grad();
            return Chunked(hidden, weight, targets, mask, logitsPerChunk, ScalarType.Float32, hiddenGradient: false, weightGradient: false).Loss;
        }
        return WithGradient.apply(hidden, weight, targets, mask, logitsPerChunk, gradientDtype);
    }

    /// <summary>hidden (B, T, C), weight (V, C) and targets (B, T), or an exception naming all three shapes.</summary>
    internal static void RequireShapes(Tensor hidden, Tensor weight, Tensor targets)
    {
        if (hidden.dim() != 3 || targets.dim() != 2 || hidden.shape[0] != targets.shape[0] || hidden.shape[1] != targets.shape[1]
            || weight.dim() != 2 || weight.shape[1] != hidden.shape[2])
            throw new ArgumentException($"Expected hidden (B,T,C), weight (V,C) and targets (B,T), got [{string.Join(",", hidden.shape)}], [{string.Join(",", weight.shape)}] and [{string.Join(",", targets.shape)}].");
    }

    private sealed class WithGradient : autograd.SingleTensorFunction<WithGradient>
    {
        public override string Name => nameof(FusedLinearCrossEntropy);

        public override Tensor forward(autograd.AutogradContext ctx, params object[] vars)
        {
            var (hidden, weight, targets, mask) = ((Tensor)vars[0], (Tensor)vars[1], (Tensor)vars[2], vars[3] as Tensor);
            var (loss, gradHidden, gradWeight) = Chunked(hidden, weight, targets, mask, (long)vars[4], (ScalarType)vars[5],
                hiddenGradient: hidden.requires_grad, weightGradient: weight.requires_grad);
            ctx.save_for_backward([.. new[] { gradHidden, gradWeight }.OfType<Tensor>()]);
            ctx.save_data("saved", (gradHidden is not null, gradWeight is not null));
            return loss;
        }

        public override List<Tensor> backward(autograd.AutogradContext ctx, Tensor gradOutput)
        {
            using var scope = torch.NewDisposeScope();
            var saved = new Queue<Tensor>(ctx.get_saved_variables());
            var (hasHidden, hasWeight) = ((bool, bool))ctx.get_data("saved");
            // The loss is usually the last op (gradient 1), but a caller may scale it (micro-batch averaging).
            var gradHidden = hasHidden ? saved.Dequeue().mul(gradOutput).MoveToOuterDisposeScope() : null;
            var gradWeight = hasWeight ? saved.Dequeue().mul(gradOutput).MoveToOuterDisposeScope() : null;
            return [gradHidden!, gradWeight!, null!, null!, null!, null!];
        }
    }

    /// <summary>
    /// The loss, and its gradients in hidden and weight (their dtypes) where asked: a frozen output weight (LoRA) skips
    /// the (V, C) weight-gradient product, a third of the layer's arithmetic.
    /// </summary>
    private static (Tensor Loss, Tensor? GradHidden, Tensor? GradWeight) Chunked(Tensor hidden, Tensor weight, Tensor targets, Tensor? mask,
        long logitsPerChunk, ScalarType gradientDtype, bool hiddenGradient, bool weightGradient)
    {
        var gradients = hiddenGradient || weightGradient;
        using var scope = torch.NewDisposeScope();
        var (rows, width, vocab) = (hidden.shape[0] * hidden.shape[1], hidden.shape[2], weight.shape[0]);
        var h = hidden.detach().reshape(rows, width);
        var y = targets.reshape(rows, 1).to(int64);
        var m = mask?.reshape(rows).to(float32);
        var w = weight.detach().to(float32);
        // 1 / (number of tokens that count): every token, or the mask's count (at least 1, so an empty mask gives 0).
        var scale = m is null ? torch.tensor(1.0f / rows, device: hidden.device) : m.sum().clamp_min(1.0).reciprocal();
        var total = torch.zeros(1, dtype: float32, device: hidden.device);
        var gradHidden = hiddenGradient ? torch.empty([rows, width], dtype: float32, device: hidden.device) : null;
        var gradWeight = weightGradient ? torch.zeros([vocab, width], dtype: float32, device: hidden.device) : null;
        var lowPrecision = gradients && gradientDtype != ScalarType.Float32;
        var wLow = lowPrecision ? w.to(gradientDtype) : null;       // (V, C), cast once per call
        var chunk = Math.Max(1, logitsPerChunk / vocab);
        for (long start = 0; start < rows; start += chunk)
        {
            using var chunkScope = torch.NewDisposeScope();
            var length = Math.Min(chunk, rows - start);
            var hc = h.narrow(0, start, length).to(float32);          // (n, C)
            var yc = y.narrow(0, start, length);                       // (n, 1)
            var z = hc.matmul(w.t());                                  // (n, V) logits
            // log_softmax's fused row kernel instead of z − logsumexp(z): logsumexp builds z − max and its exp as two
            // more (n, V) tensors, and the softmax below then needed a second exp over the whole chunk.
            var logProbs = z.log_softmax(1);                           // (n, V)
            z.Dispose();
            var nll = logProbs.gather(1, yc).squeeze(1).neg_();        // (n) −log p(y)
            var weights = m?.narrow(0, start, length);                 // (n) or null
            total.add_((weights is null ? nll : nll * weights).sum());
            if (!gradients) continue;
            var dz = logProbs.exp_();                                  // softmax(z), in the log-probs' memory
            dz.scatter_add_(1, yc, torch.full([length, 1], -1.0f, device: hidden.device)); // − onehot(y)
            dz.mul_(weights is null ? scale : (weights * scale).unsqueeze(1));
            if (lowPrecision)
            {
                var dzLow = dz.to(gradientDtype);
                gradHidden?.narrow(0, start, length).copy_(dzLow.matmul(wLow!));         // (n, C)
                gradWeight?.add_(dzLow.t().matmul(hc.to(gradientDtype)));               // (V, C), summed in fp32
                continue;
            }
            gradHidden?.narrow(0, start, length).copy_(dz.matmul(w));  // (n, C)
            gradWeight?.addmm_(dz.t(), hc);                            // (V, C)
        }
        var loss = (total * scale).squeeze(0).MoveToOuterDisposeScope();
        return (loss,
            gradHidden?.reshape(hidden.shape).to(hidden.dtype).MoveToOuterDisposeScope(),
            gradWeight?.to(weight.dtype).MoveToOuterDisposeScope());
    }
}
