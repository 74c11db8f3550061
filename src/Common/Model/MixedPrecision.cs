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
    /// <summary>
    /// Whether this CPU multiplies bf16 natively (AVX-512 BF16 or AMX). Without it oneDNN emulates
    /// bf16 GEMMs and they are slower than fp32, so <c>matmul_dtype: auto</c> picks bf16 only here.
    /// </summary>
    public static bool CpuHasNativeBf16 { get; } = File.Exists("/proc/cpuinfo")
        && File.ReadLines("/proc/cpuinfo").Any(line => line.StartsWith("flags", StringComparison.Ordinal)
            && (line.Contains(" avx512_bf16", StringComparison.Ordinal) || line.Contains(" amx_bf16", StringComparison.Ordinal)));

    [ThreadStatic] private static bool suspended;

    /// <summary>
    /// Runs this thread's matmuls in fp32 until disposed. Token-by-token decoding multiplies a few rows
    /// per call, so casting every weight to bf16 on every call costs more than the bf16 GEMM saves
    /// (measured: batch-16 decoding 2× slower in bf16, batch 1 no faster; bench/README.md).
    /// </summary>
    public static IDisposable Suspend() => new Suspension();

    /// <summary>x (…, in) · weightᵀ (in, out) → (…, out), computed and returned in <paramref name="computeDtype"/>.</summary>
    public static Tensor Linear(Tensor x, Tensor weight, ScalarType computeDtype)
    {
        if (suspended) computeDtype = weight.dtype;
        if (computeDtype == x.dtype && computeDtype == weight.dtype) return nn.functional.linear(x, weight);
        using var scope = torch.NewDisposeScope();
        return nn.functional.linear(x.to(computeDtype), weight.to(computeDtype)).MoveToOuterDisposeScope();
    }

    private sealed class Suspension : IDisposable
    {
        private readonly bool previous = suspended;

        public Suspension() => suspended = true;

        public void Dispose() => suspended = previous;
    }
}
