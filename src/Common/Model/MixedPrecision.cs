using TorchSharp;
using static TorchSharp.torch;

namespace MiniLlmPipeline.Model;

/// <summary>
/// Mixed-precision matmuls (Micikevicius et al., 2018; bf16 as in Kalamkar et al., 2019), with
/// PyTorch autocast's rule for linear layers (TorchSharp has no autocast, so the cast is made here,
/// in one place): the weight stays fp32 (the master copy the optimizer updates), the product runs on
/// bf16 copies of input and weight with fp32 accumulation inside the GEMM, and the result stays bf16,
/// so a following matmul (SwiGLU's down projection, attention's output projection) needs no cast.
/// Where a bf16 result meets fp32 (the residual sum, rotary cos/sin) type promotion returns fp32, so
/// the residual stream, the norms and the loss stay fp32. Autograd differentiates through the casts:
/// the backward matmuls run in bf16 too and the weights' gradients arrive fp32.
/// </summary>
public static class MixedPrecision
{
    /// <summary>x (…, in) · weightᵀ (in, out) → (…, out), computed and returned in <paramref name="computeDtype"/>.</summary>
    public static Tensor Linear(Tensor x, Tensor weight, ScalarType computeDtype)
    {
        if (computeDtype == x.dtype && computeDtype == weight.dtype) return nn.functional.linear(x, weight);
        using var scope = torch.NewDisposeScope();
        return nn.functional.linear(x.to(computeDtype), weight.to(computeDtype)).MoveToOuterDisposeScope();
    }
}
