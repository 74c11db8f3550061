using TorchSharp;
using static TorchSharp.torch;

namespace MiniLlmPipeline.Alignment;

/// <summary>
/// The output layer and <see cref="TokenLogProbs"/> in one, a few hundred rows at a time: log π(y_t) = z_t[y_t]/τ −
/// logsumexp(z_t/τ) with z_t = h_t·Wᵀ, keeping one (B·T, V) tensor for the backward pass (D below, in the matmul dtype)
/// where autograd would keep the logits and build their softmax and the gather's scattered gradient as further ones —
/// what the RL stages (GRPO, PPO, DPO) differentiate, the per-token sibling of
/// <see cref="FusedLinearCrossEntropy"/> (TRL computes the same values with <c>selective_log_softmax</c> on full logits).
/// <para>Unlike a mean cross-entropy, the gradient flowing into each token's log-prob (g_t: advantages, ratios, masks) is
/// only known in the backward pass. It enters as a per-row scale: ∂log π(y_t)/∂z_t = (onehot(y_t) − softmax(z_t/τ))/τ,
/// so the forward pass keeps D = onehot − softmax (one (rows, V) tensor in the gradient dtype) and the backward pass
/// forms ∂L/∂h = (g/τ ⊙ D)·W and ∂L/∂W = Dᵀ·(g/τ ⊙ h): the same three products as the unfused layer, no recomputation.
/// The logits, and so the log-probs, are fp32; with bf16 matmuls the two gradient products run in bf16 (fp32
/// accumulation inside the GEMM), as in <see cref="FusedLinearCrossEntropy"/>.</para>
/// </summary>
public static class FusedLinearTokenLogProbs
{
    /// <summary>~2M logits (8 MB in fp32) per chunk: 512 rows of the default model's 4096-token vocabulary.</summary>
    public const long DefaultLogitsPerChunk = 1 << 21;

    /// <summary>
    /// log π(y_t | …) (B, T) fp32 of targets (B, T) under the logits hidden (B, T, C) · weightᵀ (weight (V, C)) divided by
    /// <paramref name="temperature"/>; differentiable in <paramref name="hidden"/> and <paramref name="weight"/>. Padding
    /// positions must hold a valid token id; mask them afterwards. <paramref name="gradientDtype"/> is the dtype of the two
    /// gradient products (the model's matmul dtype).
    /// </summary>
    public static Tensor Compute(Tensor hidden, Tensor weight, Tensor targets, double temperature = 1.0,
        ScalarType gradientDtype = ScalarType.Float32, long logitsPerChunk = DefaultLogitsPerChunk)
    {
        FusedLinearCrossEntropy.RequireShapes(hidden, weight, targets);
        if (!(temperature > 0) || double.IsInfinity(temperature))
            throw new ArgumentOutOfRangeException(nameof(temperature), temperature, "The temperature must be a positive finite number.");
        if (!torch.is_grad_enabled() || !(hidden.requires_grad || weight.requires_grad))
        {
            using var noGrad = torch.no_grad();
            return Chunked(hidden, weight, targets, temperature, logitsPerChunk, null).LogProbs;
        }
        return WithGradient.apply(hidden, weight, targets, temperature, logitsPerChunk, gradientDtype);
    }

    private sealed class WithGradient : autograd.SingleTensorFunction<WithGradient>
    {
        public override string Name => nameof(FusedLinearTokenLogProbs);

        public override Tensor forward(autograd.AutogradContext ctx, params object[] vars)
        {
            var (hidden, weight, targets, temperature) = ((Tensor)vars[0], (Tensor)vars[1], (Tensor)vars[2], (double)vars[3]);
            var gradientDtype = (ScalarType)vars[5];
            var (logProbs, softmaxGap) = Chunked(hidden, weight, targets, temperature, (long)vars[4], gradientDtype);
            using (var scope = torch.NewDisposeScope())
            {
                // In the gradient dtype, and each only where its product is needed: ∂L/∂W needs h, ∂L/∂h needs W.
                var h = weight.requires_grad ? hidden.detach().reshape(-1, hidden.shape[2]).to(gradientDtype) : torch.empty(0);
                var w = hidden.requires_grad ? weight.detach().to(gradientDtype) : torch.empty(0);
                ctx.save_for_backward([softmaxGap!, h.MoveToOuterDisposeScope(), w.MoveToOuterDisposeScope()]);
            }
            ctx.save_data("shape", (hidden.shape, hidden.dtype, weight.dtype, hidden.requires_grad, weight.requires_grad, temperature));
            return logProbs;
        }

        public override List<Tensor> backward(autograd.AutogradContext ctx, Tensor gradOutput)
        {
            using var scope = torch.NewDisposeScope();
            var saved = ctx.get_saved_variables();
            var (d, h, w) = (saved[0], saved[1], saved[2]);                        // (rows, V), (rows, C), (V, C)
            var (shape, hiddenDtype, weightDtype, hiddenGradient, weightGradient, temperature) =
                ((long[], ScalarType, ScalarType, bool, bool, double))ctx.get_data("shape");
            var g = gradOutput.reshape(-1, 1).to(float32).div(temperature);        // (rows, 1): g_t / τ
            Tensor? gradHidden = null, gradWeight = null;
            if (hiddenGradient)
                gradHidden = d.matmul(w).to(float32).mul_(g).reshape(shape).to(hiddenDtype).MoveToOuterDisposeScope();
            if (weightGradient)
                gradWeight = d.t().matmul(h.mul(g.to(h.dtype))).to(weightDtype).MoveToOuterDisposeScope();
            return [gradHidden!, gradWeight!, null!, null!, null!, null!];
        }
    }

    /// <summary>
    /// The log-probs (B, T), and with a <paramref name="gradientDtype"/> D = onehot(y) − softmax(z/τ) (rows, V) in that dtype.
    /// </summary>
    private static (Tensor LogProbs, Tensor? SoftmaxGap) Chunked(Tensor hidden, Tensor weight, Tensor targets, double temperature,
        long logitsPerChunk, ScalarType? gradientDtype)
    {
        using var scope = torch.NewDisposeScope();
        var (rows, width, vocab) = (hidden.shape[0] * hidden.shape[1], hidden.shape[2], weight.shape[0]);
        var h = hidden.detach().reshape(rows, width);
        var y = targets.reshape(rows, 1).to(int64);
        var w = weight.detach().to(float32);
        var logProbs = torch.empty(rows, dtype: float32, device: hidden.device);
        var gap = gradientDtype is { } dtype ? torch.empty([rows, vocab], dtype: dtype, device: hidden.device) : null;
        var chunk = Math.Max(1, logitsPerChunk / vocab);
        for (long start = 0; start < rows; start += chunk)
        {
            using var chunkScope = torch.NewDisposeScope();
            var length = Math.Min(chunk, rows - start);
            var yc = y.narrow(0, start, length);                                 // (n, 1)
            var z = h.narrow(0, start, length).to(float32).matmul(w.t());        // (n, V) logits
            if (temperature != 1.0) z.div_(temperature);
            var logSumExp = z.logsumexp(1, keepdim: true);                       // (n, 1)
            logProbs.narrow(0, start, length).copy_((z.gather(1, yc) - logSumExp).squeeze(1));
            if (gap is null) continue;
            var d = z.sub_(logSumExp).exp_().neg_();                             // −softmax(z/τ), in the logits' memory
            d.scatter_add_(1, yc, torch.ones([length, 1], device: hidden.device)); // + onehot(y)
            gap.narrow(0, start, length).copy_(d);
        }
        return (logProbs.reshape(hidden.shape[0], hidden.shape[1]).MoveToOuterDisposeScope(), gap?.MoveToOuterDisposeScope());
    }
}
