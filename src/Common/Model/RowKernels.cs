using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using TorchSharp;
using static TorchSharp.torch;

namespace MiniLlmPipeline.Model;

/// <summary>
/// What the fused kernels (<see cref="FusedRmsNorm"/>, <see cref="FusedSwiGlu"/>, <see cref="FusedRotaryQkv"/>,
/// <see cref="FusedCausalAttention"/>) share: which tensors they take (fp32, contiguous, in CPU memory), the address of
/// such a tensor's first element, and a loop over row ranges on libtorch's own threads (<see cref="TorchThreads"/>), one
/// range per torch thread.
/// </summary>
internal static unsafe class RowKernels
{
    /// <summary>fp32 CPU tensors laid out row after row: what the kernels read and write through raw pointers.</summary>
    public static bool Accepts(params Tensor[] tensors) =>
        tensors.All(t => t.device_type == DeviceType.CPU && t.dtype == ScalarType.Float32 && t.is_contiguous());

    /// <summary>The first element of a contiguous fp32 CPU tensor (its memory is native and never moves).</summary>
    public static float* Floats(Tensor t) => (float*)Unsafe.AsPointer(ref MemoryMarshal.GetReference(t.bytes));

    /// <summary>Rows [start, end) of one part of the work; <c>part</c> indexes per-part scratch such as partial sums.</summary>
    public delegate void RowRange(long start, long end, int part);

    /// <summary>The number of parts <see cref="For"/> splits rows into: one per torch thread.</summary>
    public static int Parts => Math.Max(1, torch.get_num_threads());

    /// <summary>Runs <paramref name="body"/> over rows 0 .. <paramref name="rows"/> − 1 in <see cref="Parts"/> contiguous ranges.</summary>
    public static void For(long rows, RowRange body)
    {
        var parts = (int)Math.Min(Parts, Math.Max(1, rows));
        TorchThreads.Run((part, count) => body(rows * part / count, rows * (part + 1) / count, part), parts);
    }
}
