using System.Runtime.Intrinsics;
using TorchSharp;
using static TorchSharp.torch;

namespace MiniLlmPipeline.Model;

/// <summary>
/// SwiGLU's gate, h = silu(g) ⊙ u = g·σ(g) ⊙ u, over the concatenated projection [g | u] (…, 2F), forward and backward
/// each one pass over the rows, for fp32 rows in CPU memory (<see cref="RowKernels"/>). As tensor operations the
/// forward was a silu and a product, the backward three products, a silu derivative and the concatenation of the
/// two halves' gradients, each a pass over (B·T, F) and a fork and join of the torch threads. With s = σ(g):
/// ∂L/∂u = ∂L/∂h · g·s and ∂L/∂g = ∂L/∂h · u · s·(1 + g·(1 − s)), written straight into the halves of ∂L/∂[g | u].
/// </summary>
internal static unsafe class FusedSwiGlu
{
    /// <summary>silu(gateUp[…, :F]) ⊙ gateUp[…, F:], (…, F); differentiable in <paramref name="gateUp"/>.</summary>
    public static Tensor Apply(Tensor gateUp)
    {
        if (torch.is_grad_enabled() && gateUp.requires_grad) return Function.apply(gateUp);
        using var noGrad = torch.no_grad();
        return Forward(gateUp);
    }

    private static Tensor Forward(Tensor gateUp)
    {
        var width = (int)gateUp.shape[^1] / 2;
        var rows = gateUp.numel() / (2 * width);
        var shape = gateUp.shape.ToArray();
        shape[^1] = width;
        var hidden = torch.empty(shape, dtype: ScalarType.Float32);
        float* pgu = RowKernels.Floats(gateUp), ph = RowKernels.Floats(hidden);
        RowKernels.For(rows, (start, end, _) =>
        {
            for (var row = start; row < end; row++)
            {
                float* g = pgu + row * 2 * width, u = g + width, h = ph + row * width;
                var j = 0;
                for (; j <= width - 8; j += 8)
                {
                    var gv = Vector256.Load(g + j);
                    Vector256.Store(gv / (Vector256<float>.One + Vector256.Exp(-gv)) * Vector256.Load(u + j), h + j);
                }
                for (; j < width; j++) h[j] = g[j] / (1 + MathF.Exp(-g[j])) * u[j];
            }
        });
        return hidden;
    }

    private static Tensor Backward(Tensor gradHidden, Tensor gateUp)
    {
        var width = (int)gateUp.shape[^1] / 2;
        var rows = gateUp.numel() / (2 * width);
        var gradGateUp = torch.empty_like(gateUp);
        float* pdh = RowKernels.Floats(gradHidden), pgu = RowKernels.Floats(gateUp), pd = RowKernels.Floats(gradGateUp);
        RowKernels.For(rows, (start, end, _) =>
        {
            var one = Vector256<float>.One;
            for (var row = start; row < end; row++)
            {
                float* g = pgu + row * 2 * width, u = g + width, dh = pdh + row * width;
                float* dg = pd + row * 2 * width, du = dg + width;
                var j = 0;
                for (; j <= width - 8; j += 8)
                {
                    var (gv, uv, dhv) = (Vector256.Load(g + j), Vector256.Load(u + j), Vector256.Load(dh + j));
                    var s = one / (one + Vector256.Exp(-gv));
                    Vector256.Store(dhv * gv * s, du + j);
                    Vector256.Store(dhv * uv * s * (one + gv * (one - s)), dg + j);
                }
                for (; j < width; j++)
                {
                    var s = 1 / (1 + MathF.Exp(-g[j]));
                    du[j] = dh[j] * g[j] * s;
                    dg[j] = dh[j] * u[j] * s * (1 + g[j] * (1 - s));
                }
            }
        });
        return gradGateUp;
    }

    private sealed class Function : autograd.SingleTensorFunction<Function>
    {
        public override string Name => nameof(FusedSwiGlu);

        public override Tensor forward(autograd.AutogradContext ctx, params object[] vars)
        {
            var gateUp = (Tensor)vars[0];
            ctx.save_for_backward([gateUp]);
            return Forward(gateUp);
        }

        public override List<Tensor> backward(autograd.AutogradContext ctx, Tensor gradOutput)
        {
            using var scope = torch.NewDisposeScope();
            return [Backward(gradOutput.contiguous(), ctx.get_saved_variables()[0]).MoveToOuterDisposeScope()];
        }
    }
}
