using TensorPrimitives = System.Numerics.Tensors.TensorPrimitives;
using System.Runtime.Intrinsics;
using TorchSharp;
using static TorchSharp.torch;

namespace MiniLlmPipeline.Model;

/// <summary>
/// RMSNorm y = x · r · g with r = 1/√(mean(x²) + ε), forward and backward each as one pass over the rows, for fp32
/// rows in CPU memory (<see cref="RowKernels"/>). Written out as tensor operations it is six kernels forward and about
/// ten backward, each a pass over the (B·T, C) activations and a fork and join of the torch threads; in a default fp32
/// pretraining step the thirteen norms cost ~35 ms of ~520. The backward pass is that of the composite:
/// with x̂ = x·r and ĝ = ∂L/∂y · g, ∂L/∂x = r · (ĝ − x̂ · mean(ĝ · x̂)) and ∂L/∂g = Σ_rows ∂L/∂y · x̂.
/// </summary>
internal static unsafe class FusedRmsNorm
{
    /// <summary>x (…, C) normalised over its last dimension and scaled by <paramref name="weight"/> (C); differentiable in both.</summary>
    public static Tensor Apply(Tensor x, Tensor weight, double eps)
    {
        if (torch.is_grad_enabled() && (x.requires_grad || weight.requires_grad))
            return Function.apply(x, weight, eps);
        using var noGrad = torch.no_grad();
        return Forward(x, weight, eps).Y;
    }

    /// <summary>y, and the per-row r the backward pass needs.</summary>
    private static (Tensor Y, Tensor R) Forward(Tensor x, Tensor weight, double eps)
    {
        var width = (int)x.shape[^1];
        var rows = x.numel() / width;
        var y = torch.empty_like(x);
        var r = torch.empty(rows, dtype: ScalarType.Float32);
        float* px = RowKernels.Floats(x), pw = RowKernels.Floats(weight), py = RowKernels.Floats(y), pr = RowKernels.Floats(r);
        var epsilon = (float)eps;
        RowKernels.For(rows, (start, end, _) =>
        {
            for (var row = start; row < end; row++)
            {
                var xr = px + row * width;
                var inverse = 1f / MathF.Sqrt(Dot(xr, xr, width) / width + epsilon);
                pr[row] = inverse;
                var yr = new Span<float>(py + row * width, width);
                TensorPrimitives.Multiply(new ReadOnlySpan<float>(xr, width), inverse, yr); // (x · r) · g, as the composite
                TensorPrimitives.Multiply(yr, new ReadOnlySpan<float>(pw, width), yr);
            }
        });
        return (y, r);
    }

    private static (Tensor GradX, Tensor GradWeight) Backward(Tensor gradY, Tensor x, Tensor r, Tensor weight)
    {
        var width = (int)x.shape[^1];
        var rows = x.numel() / width;
        var gradX = torch.empty_like(x);
        var partial = torch.zeros(RowKernels.Parts, width, dtype: ScalarType.Float32); // ∂L/∂g summed per part
        float* pg = RowKernels.Floats(gradY), px = RowKernels.Floats(x), pr = RowKernels.Floats(r), pw = RowKernels.Floats(weight);
        float* pdx = RowKernels.Floats(gradX), pdw = RowKernels.Floats(partial);
        RowKernels.For(rows, (start, end, part) =>
        {
            var dw = pdw + part * width;
            for (var row = start; row < end; row++)
            {
                float* gr = pg + row * width, xr = px + row * width, dxr = pdx + row * width;
                var inverse = pr[row];
                var scale = Vector256.Create(inverse);
                // mean(ĝ · x̂) = r · Σ g·w·x / C, and ∂L/∂g += ∂L/∂y · x̂, in one pass.
                var sum = Vector256<float>.Zero;
                var j = 0;
                for (; j <= width - 8; j += 8)
                {
                    var (g, xv) = (Vector256.Load(gr + j), Vector256.Load(xr + j));
                    sum += g * Vector256.Load(pw + j) * xv;
                    Vector256.Store(Vector256.Load(dw + j) + g * xv * scale, dw + j);
                }
                var dot = Vector256.Sum(sum);
                for (; j < width; j++)
                {
                    dot += gr[j] * pw[j] * xr[j];
                    dw[j] += gr[j] * xr[j] * inverse;
                }
                // ∂L/∂x = r · (ĝ − x̂ · mean(ĝ · x̂)) = r · (g·w − x · r² · Σ g·w·x / C)
                var k = dot * inverse * inverse / width;
                var kv = Vector256.Create(k);
                j = 0;
                for (; j <= width - 8; j += 8)
                    Vector256.Store(scale * (Vector256.Load(gr + j) * Vector256.Load(pw + j) - Vector256.Load(xr + j) * kv), dxr + j);
                for (; j < width; j++) dxr[j] = inverse * (gr[j] * pw[j] - xr[j] * k);
            }
        });
        return (gradX, partial.sum(dim: 0));
    }

    private static float Dot(float* a, float* b, int n)
    {
        var sum = Vector256<float>.Zero;
        var j = 0;
        for (; j <= n - 8; j += 8) sum += Vector256.Load(a + j) * Vector256.Load(b + j);
        var total = Vector256.Sum(sum);
        for (; j < n; j++) total += a[j] * b[j];
        return total;
    }

    private sealed class Function : autograd.SingleTensorFunction<Function>
    {
        public override string Name => nameof(FusedRmsNorm);

        public override Tensor forward(autograd.AutogradContext ctx, params object[] vars)
        {
            var (x, weight, eps) = ((Tensor)vars[0], (Tensor)vars[1], (double)vars[2]);
            var (y, r) = Forward(x, weight, eps);
            ctx.save_for_backward([x, r, weight]);
            ctx.save_data("weight_grad", weight.requires_grad);
            return y;
        }

        public override List<Tensor> backward(autograd.AutogradContext ctx, Tensor gradOutput)
        {
            using var scope = torch.NewDisposeScope();
            var saved = ctx.get_saved_variables();
            var (gradX, gradWeight) = Backward(gradOutput.contiguous(), saved[0], saved[1], saved[2]);
            var weightGrad = (bool)ctx.get_data("weight_grad");
            return [gradX.MoveToOuterDisposeScope(), weightGrad ? gradWeight.MoveToOuterDisposeScope() : null!, null!];
        }
    }
}
