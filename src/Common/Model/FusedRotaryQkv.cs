using System.Runtime.Intrinsics;
using TorchSharp;
using static TorchSharp.torch;

namespace MiniLlmPipeline.Model;

/// <summary>
/// The fused q/k/v projection's output (B, T, H + 2·Hkv, D) split into q (B, H, T, D), k and v (B, Hkv, T, D), each
/// contiguous in the layout attention multiplies, with rotary positions applied to q and k on the way
/// (<see cref="RotaryEmbedding.Apply"/>: y₁ = x₁·cos − x₂·sin, y₂ = x₂·cos + x₁·sin over the two halves of a head),
/// forward and backward each one pass, for fp32 rows in CPU memory (<see cref="RowKernels"/>). As tensor operations
/// this was a split, a negation, a concatenation, two products and a sum, then three transposed copies, each a pass
/// and a fork and join of the torch threads, and as many again backward. The backward pass applies the transposed
/// rotation (x₁ = y₁·cos + y₂·sin, x₂ = y₂·cos − y₁·sin) and writes all three gradients back into one (B, T, H + 2·Hkv, D).
/// </summary>
internal static unsafe class FusedRotaryQkv
{
    /// <summary>
    /// Whether the kernel takes these: fp32 CPU tensors, qkv contiguous, cos/sin contiguous tables for the T positions,
    /// (T, 1, D) or per sequence (B, T, 1, D), and an even head size.
    /// </summary>
    public static bool Accepts(Tensor qkv, Tensor cos, Tensor sin) =>
        RowKernels.Accepts(qkv, cos, sin) && qkv.dim() == 4 && qkv.shape[3] % 2 == 0
        && cos.shape.SequenceEqual(sin.shape) && cos.shape[^1] == qkv.shape[3] && cos.shape[^3] == qkv.shape[1]
        && (cos.dim() == 3 || cos.dim() == 4 && cos.shape[0] == qkv.shape[0]);

    /// <summary>q (B, H, T, D) and k (B, Hkv, T, D) rotated, v (B, Hkv, T, D); differentiable in <paramref name="qkv"/>.</summary>
    public static (Tensor Q, Tensor K, Tensor V) Apply(Tensor qkv, Tensor cos, Tensor sin, int nHeads, int nKvHeads)
    {
        List<Tensor> outputs;
        if (torch.is_grad_enabled() && qkv.requires_grad) outputs = Function.apply(qkv, cos, sin, nHeads, nKvHeads);
        else
        {
            using var noGrad = torch.no_grad();
            outputs = Forward(qkv, cos, sin, nHeads, nKvHeads);
        }
        return (outputs[0], outputs[1], outputs[2]);
    }

    private static List<Tensor> Forward(Tensor qkv, Tensor cos, Tensor sin, int nHeads, int nKvHeads)
    {
        var (b, t, d) = (qkv.shape[0], qkv.shape[1], qkv.shape[3]);
        var q = torch.empty(b, nHeads, t, d, dtype: ScalarType.Float32);
        var k = torch.empty(b, nKvHeads, t, d, dtype: ScalarType.Float32);
        var v = torch.empty(b, nKvHeads, t, d, dtype: ScalarType.Float32);
        Move(qkv, q, k, v, cos, sin, backward: false);
        return [q, k, v];
    }

    private static Tensor Backward(Tensor gradQ, Tensor gradK, Tensor gradV, Tensor cos, Tensor sin)
    {
        var (b, nHeads, t, d) = (gradQ.shape[0], gradQ.shape[1], gradQ.shape[2], gradQ.shape[3]);
        var gradQkv = torch.empty(b, t, nHeads + 2 * gradK.shape[1], d, dtype: ScalarType.Float32);
        Move(gradQkv, gradQ, gradK, gradV, cos, sin, backward: true);
        return gradQkv;
    }

    /// <summary>
    /// Forward, each head of <paramref name="fused"/> (B, T, H + 2·Hkv, D) to its place in q, k or v, q's and k's rotated;
    /// backward, each gradient head of q, k and v back to its place in <paramref name="fused"/>, rotated the other way.
    /// </summary>
    private static void Move(Tensor fused, Tensor q, Tensor k, Tensor v, Tensor cos, Tensor sin, bool backward)
    {
        var (t, d) = (fused.shape[1], (int)fused.shape[3]);
        var (nHeads, nKvHeads) = ((int)q.shape[1], (int)k.shape[1]);
        var heads = nHeads + 2 * nKvHeads;
        float* px = RowKernels.Floats(fused), pc = RowKernels.Floats(cos), ps = RowKernels.Floats(sin);
        float* pq = RowKernels.Floats(q), pk = RowKernels.Floats(k), pv = RowKernels.Floats(v);
        var perSequence = cos.dim() == 4;
        RowKernels.For(fused.shape[0] * t, (start, end, _) =>
        {
            for (var row = start; row < end; row++)
            {
                var (sequence, position) = (row / t, row % t);
                var table = (perSequence ? row : position) * d;
                for (var h = 0; h < heads; h++)
                {
                    var joined = px + (row * heads + h) * d;
                    var split = HeadRow(pq, pk, pv, nHeads, nKvHeads, h, sequence, t, position, d);
                    float* from = backward ? split : joined, to = backward ? joined : split;
                    if (h < nHeads + nKvHeads) Rotate(from, pc + table, ps + table, to, d, transposed: backward);
                    else Buffer.MemoryCopy(from, to, d * sizeof(float), d * sizeof(float));
                }
            }
        });
    }

    /// <summary>
    /// Where head <paramref name="h"/> of the fused layout (H query, Hkv key, Hkv value heads side by side) lives for one
    /// position of one sequence in the separate q (B, H, T, D), k and v (B, Hkv, T, D).
    /// </summary>
    private static float* HeadRow(float* q, float* k, float* v, int nHeads, int nKvHeads, int h, long sequence, long t, long position, int d) =>
        h < nHeads ? q + ((sequence * nHeads + h) * t + position) * d
        : h < nHeads + nKvHeads ? k + ((sequence * nKvHeads + h - nHeads) * t + position) * d
        : v + ((sequence * nKvHeads + h - nHeads - nKvHeads) * t + position) * d;

    /// <summary>
    /// One head: y₁ = x₁·cos₁ − x₂·sin₁, y₂ = x₂·cos₂ + x₁·sin₂ (the tables repeat their first half, so cos₁ = cos₂);
    /// transposed, the backward rotation x₁ = y₁·cos₁ + y₂·sin₂, x₂ = y₂·cos₂ − y₁·sin₁.
    /// </summary>
    private static void Rotate(float* x, float* cos, float* sin, float* y, int d, bool transposed)
    {
        var half = d / 2;
        var sign = transposed ? -1f : 1f;
        var i = 0;
        if (half % 8 == 0)
        {
            var signs = Vector256.Create(sign);
            for (; i < half; i += 8)
            {
                var (x1, x2) = (Vector256.Load(x + i), Vector256.Load(x + half + i));
                Vector256.Store(x1 * Vector256.Load(cos + i) - signs * x2 * Vector256.Load(sin + i), y + i);
                Vector256.Store(x2 * Vector256.Load(cos + half + i) + signs * x1 * Vector256.Load(sin + half + i), y + half + i);
            }
        }
        for (; i < half; i++)
        {
            var (x1, x2) = (x[i], x[half + i]);
            y[i] = x1 * cos[i] - sign * x2 * sin[i];
            y[half + i] = x2 * cos[half + i] + sign * x1 * sin[half + i];
        }
    }

    private sealed class Function : autograd.MultiTensorFunction<Function>
    {
        public override string Name => nameof(FusedRotaryQkv);

        public override List<Tensor> forward(autograd.AutogradContext ctx, params object[] vars)
        {
            var (qkv, cos, sin) = ((Tensor)vars[0], (Tensor)vars[1], (Tensor)vars[2]);
            ctx.save_for_backward([cos, sin]);
            return Forward(qkv, cos, sin, (int)vars[3], (int)vars[4]);
        }

        public override List<Tensor> backward(autograd.AutogradContext ctx, List<Tensor> gradOutputs)
        {
            using var scope = torch.NewDisposeScope();
            var saved = ctx.get_saved_variables();
            var grads = gradOutputs.Select(g => g.contiguous()).ToList();
            return [Backward(grads[0], grads[1], grads[2], saved[0], saved[1]).MoveToOuterDisposeScope(), null!, null!, null!, null!];
        }
    }
}
