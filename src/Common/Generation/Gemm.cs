using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace MiniLlmPipeline.Generation;

/// <summary>
/// The matrix product the CPU decoder spends its time in: y (m×n) = x (m×k) · w (k×n), all row-major fp32, with
/// the weight stored transposed (in × out) so that each step of the inner loop broadcasts one input value and
/// multiplies a contiguous run of weights — no horizontal sums. The micro-kernel keeps a 4-row × 4-vector block of
/// y in registers (the register blocking of Goto &amp; van de Geijn, 2008, without packing: at decoding sizes a
/// weight panel, k × 4 vectors, stays in L1/L2 while the rows pass over it). Column panels are split across threads.
/// </summary>
internal sealed class Gemm : IParallelWork
{
    private static readonly int Lanes = Vector<float>.Count;
    // Vector<float> stays 256 bits wide on AVX-512 machines; the panels use the full 512 where the CPU has them
    // (twice the multiply-adds per instruction for batched decoding).
    private static readonly bool Wide = Vector512.IsHardwareAccelerated;
    private static readonly int Panel = Wide ? 4 * Vector512<float>.Count : 4 * Vector<float>.Count;

    // The product being computed, for the workers (one Gemm per decoder, reused: no allocation per call).
    private float[] _x = [], _w = [], _y = [];
    private int _m, _k, _n;
    private bool _accumulate;

    /// <summary>
    /// y = x·w, or y += x·w when <paramref name="accumulate"/> (the residual stream adds in place), split by column
    /// panels over up to <paramref name="threads"/> threads of <paramref name="workers"/>.
    /// </summary>
    public void Multiply(float[] x, int m, int k, float[] w, int n, float[] y, bool accumulate, SpinningWorkers? workers, int threads)
    {
        var panels = (n + Panel - 1) / Panel;
        // Below ~16k multiply-adds a part the hand-off costs more than the work; two parts a thread even out a
        // thread that starts late.
        var parts = (int)Math.Clamp((long)m * k * n / 16_384, 1, Math.Min(2 * threads, panels));
        if (workers is null || parts <= 1)
        {
            Columns(x, m, k, w, n, y, accumulate, 0, n);
            return;
        }
        (_x, _m, _k, _w, _n, _y, _accumulate) = (x, m, k, w, n, y, accumulate);
        workers.Run(this, parts);
    }

    public void Execute(int part, int parts)
    {
        var panels = (_n + Panel - 1) / Panel;
        var start = (int)((long)panels * part / parts) * Panel;
        var end = Math.Min(_n, (int)((long)panels * (part + 1) / parts) * Panel);
        if (start < end) Columns(_x, _m, _k, _w, _n, _y, _accumulate, start, end);
    }

    /// <summary>Columns [<paramref name="start"/>, <paramref name="end"/>) of y; start is a multiple of the panel width.</summary>
    private static void Columns(float[] x, int m, int k, float[] w, int n, float[] y, bool accumulate, int start, int end)
    {
        ref var x0 = ref MemoryMarshal.GetArrayDataReference(x);
        ref var w0 = ref MemoryMarshal.GetArrayDataReference(w);
        ref var y0 = ref MemoryMarshal.GetArrayDataReference(y);
        var c = start;
        for (; c + Panel <= end; c += Panel)
        {
            var r = 0;
            if (Wide)
            {
                for (; r + 4 <= m; r += 4) Block4x4Wide(ref x0, r, k, ref w0, n, ref y0, c, accumulate);
                for (; r < m; r++) Block1x4Wide(ref x0, r, k, ref w0, n, ref y0, c, accumulate);
            }
            else
            {
                for (; r + 4 <= m; r += 4) Block4x4(ref x0, r, k, ref w0, n, ref y0, c, accumulate);
                for (; r < m; r++) Block1x4(ref x0, r, k, ref w0, n, ref y0, c, accumulate);
            }
        }
        for (; c + Lanes <= end; c += Lanes)
            for (var r = 0; r < m; r++) Block1x1(ref x0, r, k, ref w0, n, ref y0, c, accumulate);
        for (; c < end; c++)
            for (var r = 0; r < m; r++)
            {
                var sum = accumulate ? Unsafe.Add(ref y0, r * n + c) : 0f;
                for (var i = 0; i < k; i++) sum += Unsafe.Add(ref x0, r * k + i) * Unsafe.Add(ref w0, i * n + c);
                Unsafe.Add(ref y0, r * n + c) = sum;
            }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining | MethodImplOptions.AggressiveOptimization)]
    private static void Block4x4(ref float x0, int r, int k, ref float w0, int n, ref float y0, int c, bool accumulate)
    {
        var lanes = Lanes;
        ref var y00 = ref Unsafe.Add(ref y0, r * n + c);
        ref var y10 = ref Unsafe.Add(ref y00, n);
        ref var y20 = ref Unsafe.Add(ref y10, n);
        ref var y30 = ref Unsafe.Add(ref y20, n);
        Vector<float> a00 = default, a01 = default, a02 = default, a03 = default;
        Vector<float> a10 = default, a11 = default, a12 = default, a13 = default;
        Vector<float> a20 = default, a21 = default, a22 = default, a23 = default;
        Vector<float> a30 = default, a31 = default, a32 = default, a33 = default;
        if (accumulate)
        {
            a00 = Vector.LoadUnsafe(ref y00); a01 = Vector.LoadUnsafe(ref y00, (nuint)lanes); a02 = Vector.LoadUnsafe(ref y00, (nuint)(2 * lanes)); a03 = Vector.LoadUnsafe(ref y00, (nuint)(3 * lanes));
            a10 = Vector.LoadUnsafe(ref y10); a11 = Vector.LoadUnsafe(ref y10, (nuint)lanes); a12 = Vector.LoadUnsafe(ref y10, (nuint)(2 * lanes)); a13 = Vector.LoadUnsafe(ref y10, (nuint)(3 * lanes));
            a20 = Vector.LoadUnsafe(ref y20); a21 = Vector.LoadUnsafe(ref y20, (nuint)lanes); a22 = Vector.LoadUnsafe(ref y20, (nuint)(2 * lanes)); a23 = Vector.LoadUnsafe(ref y20, (nuint)(3 * lanes));
            a30 = Vector.LoadUnsafe(ref y30); a31 = Vector.LoadUnsafe(ref y30, (nuint)lanes); a32 = Vector.LoadUnsafe(ref y30, (nuint)(2 * lanes)); a33 = Vector.LoadUnsafe(ref y30, (nuint)(3 * lanes));
        }
        ref var xr0 = ref Unsafe.Add(ref x0, r * k);
        ref var xr1 = ref Unsafe.Add(ref xr0, k);
        ref var xr2 = ref Unsafe.Add(ref xr1, k);
        ref var xr3 = ref Unsafe.Add(ref xr2, k);
        ref var wp = ref Unsafe.Add(ref w0, c);
        for (var i = 0; i < k; i++)
        {
            ref var wi = ref Unsafe.Add(ref wp, i * n);
            var w0v = Vector.LoadUnsafe(ref wi);
            var w1v = Vector.LoadUnsafe(ref wi, (nuint)lanes);
            var w2v = Vector.LoadUnsafe(ref wi, (nuint)(2 * lanes));
            var w3v = Vector.LoadUnsafe(ref wi, (nuint)(3 * lanes));
            var b = new Vector<float>(Unsafe.Add(ref xr0, i));
            a00 = Vector.FusedMultiplyAdd(w0v, b, a00); a01 = Vector.FusedMultiplyAdd(w1v, b, a01); a02 = Vector.FusedMultiplyAdd(w2v, b, a02); a03 = Vector.FusedMultiplyAdd(w3v, b, a03);
            b = new Vector<float>(Unsafe.Add(ref xr1, i));
            a10 = Vector.FusedMultiplyAdd(w0v, b, a10); a11 = Vector.FusedMultiplyAdd(w1v, b, a11); a12 = Vector.FusedMultiplyAdd(w2v, b, a12); a13 = Vector.FusedMultiplyAdd(w3v, b, a13);
            b = new Vector<float>(Unsafe.Add(ref xr2, i));
            a20 = Vector.FusedMultiplyAdd(w0v, b, a20); a21 = Vector.FusedMultiplyAdd(w1v, b, a21); a22 = Vector.FusedMultiplyAdd(w2v, b, a22); a23 = Vector.FusedMultiplyAdd(w3v, b, a23);
            b = new Vector<float>(Unsafe.Add(ref xr3, i));
            a30 = Vector.FusedMultiplyAdd(w0v, b, a30); a31 = Vector.FusedMultiplyAdd(w1v, b, a31); a32 = Vector.FusedMultiplyAdd(w2v, b, a32); a33 = Vector.FusedMultiplyAdd(w3v, b, a33);
        }
        a00.StoreUnsafe(ref y00); a01.StoreUnsafe(ref y00, (nuint)lanes); a02.StoreUnsafe(ref y00, (nuint)(2 * lanes)); a03.StoreUnsafe(ref y00, (nuint)(3 * lanes));
        a10.StoreUnsafe(ref y10); a11.StoreUnsafe(ref y10, (nuint)lanes); a12.StoreUnsafe(ref y10, (nuint)(2 * lanes)); a13.StoreUnsafe(ref y10, (nuint)(3 * lanes));
        a20.StoreUnsafe(ref y20); a21.StoreUnsafe(ref y20, (nuint)lanes); a22.StoreUnsafe(ref y20, (nuint)(2 * lanes)); a23.StoreUnsafe(ref y20, (nuint)(3 * lanes));
        a30.StoreUnsafe(ref y30); a31.StoreUnsafe(ref y30, (nuint)lanes); a32.StoreUnsafe(ref y30, (nuint)(2 * lanes)); a33.StoreUnsafe(ref y30, (nuint)(3 * lanes));
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining | MethodImplOptions.AggressiveOptimization)]
    private static void Block1x4(ref float x0, int r, int k, ref float w0, int n, ref float y0, int c, bool accumulate)
    {
        var lanes = Lanes;
        ref var yr = ref Unsafe.Add(ref y0, r * n + c);
        Vector<float> a0 = default, a1 = default, a2 = default, a3 = default;
        if (accumulate)
        {
            a0 = Vector.LoadUnsafe(ref yr); a1 = Vector.LoadUnsafe(ref yr, (nuint)lanes);
            a2 = Vector.LoadUnsafe(ref yr, (nuint)(2 * lanes)); a3 = Vector.LoadUnsafe(ref yr, (nuint)(3 * lanes));
        }
        ref var xr = ref Unsafe.Add(ref x0, r * k);
        ref var wp = ref Unsafe.Add(ref w0, c);
        for (var i = 0; i < k; i++)
        {
            ref var wi = ref Unsafe.Add(ref wp, i * n);
            var b = new Vector<float>(Unsafe.Add(ref xr, i));
            a0 = Vector.FusedMultiplyAdd(Vector.LoadUnsafe(ref wi), b, a0);
            a1 = Vector.FusedMultiplyAdd(Vector.LoadUnsafe(ref wi, (nuint)lanes), b, a1);
            a2 = Vector.FusedMultiplyAdd(Vector.LoadUnsafe(ref wi, (nuint)(2 * lanes)), b, a2);
            a3 = Vector.FusedMultiplyAdd(Vector.LoadUnsafe(ref wi, (nuint)(3 * lanes)), b, a3);
        }
        a0.StoreUnsafe(ref yr); a1.StoreUnsafe(ref yr, (nuint)lanes);
        a2.StoreUnsafe(ref yr, (nuint)(2 * lanes)); a3.StoreUnsafe(ref yr, (nuint)(3 * lanes));
    }

    // The same kernels on 512-bit vectors.
    [MethodImpl(MethodImplOptions.AggressiveInlining | MethodImplOptions.AggressiveOptimization)]
    private static void Block4x4Wide(ref float x0, int r, int k, ref float w0, int n, ref float y0, int c, bool accumulate)
    {
        var lanes = Vector512<float>.Count;
        ref var y00 = ref Unsafe.Add(ref y0, r * n + c);
        ref var y10 = ref Unsafe.Add(ref y00, n);
        ref var y20 = ref Unsafe.Add(ref y10, n);
        ref var y30 = ref Unsafe.Add(ref y20, n);
        Vector512<float> a00 = default, a01 = default, a02 = default, a03 = default;
        Vector512<float> a10 = default, a11 = default, a12 = default, a13 = default;
        Vector512<float> a20 = default, a21 = default, a22 = default, a23 = default;
        Vector512<float> a30 = default, a31 = default, a32 = default, a33 = default;
        if (accumulate)
        {
            a00 = Vector512.LoadUnsafe(ref y00); a01 = Vector512.LoadUnsafe(ref y00, (nuint)lanes); a02 = Vector512.LoadUnsafe(ref y00, (nuint)(2 * lanes)); a03 = Vector512.LoadUnsafe(ref y00, (nuint)(3 * lanes));
            a10 = Vector512.LoadUnsafe(ref y10); a11 = Vector512.LoadUnsafe(ref y10, (nuint)lanes); a12 = Vector512.LoadUnsafe(ref y10, (nuint)(2 * lanes)); a13 = Vector512.LoadUnsafe(ref y10, (nuint)(3 * lanes));
            a20 = Vector512.LoadUnsafe(ref y20); a21 = Vector512.LoadUnsafe(ref y20, (nuint)lanes); a22 = Vector512.LoadUnsafe(ref y20, (nuint)(2 * lanes)); a23 = Vector512.LoadUnsafe(ref y20, (nuint)(3 * lanes));
            a30 = Vector512.LoadUnsafe(ref y30); a31 = Vector512.LoadUnsafe(ref y30, (nuint)lanes); a32 = Vector512.LoadUnsafe(ref y30, (nuint)(2 * lanes)); a33 = Vector512.LoadUnsafe(ref y30, (nuint)(3 * lanes));
        }
        ref var xr0 = ref Unsafe.Add(ref x0, r * k);
        ref var xr1 = ref Unsafe.Add(ref xr0, k);
        ref var xr2 = ref Unsafe.Add(ref xr1, k);
        ref var xr3 = ref Unsafe.Add(ref xr2, k);
        ref var wp = ref Unsafe.Add(ref w0, c);
        for (var i = 0; i < k; i++)
        {
            ref var wi = ref Unsafe.Add(ref wp, i * n);
            var w0v = Vector512.LoadUnsafe(ref wi);
            var w1v = Vector512.LoadUnsafe(ref wi, (nuint)lanes);
            var w2v = Vector512.LoadUnsafe(ref wi, (nuint)(2 * lanes));
            var w3v = Vector512.LoadUnsafe(ref wi, (nuint)(3 * lanes));
            var b = Vector512.Create(Unsafe.Add(ref xr0, i));
            a00 = Vector512.FusedMultiplyAdd(w0v, b, a00); a01 = Vector512.FusedMultiplyAdd(w1v, b, a01); a02 = Vector512.FusedMultiplyAdd(w2v, b, a02); a03 = Vector512.FusedMultiplyAdd(w3v, b, a03);
            b = Vector512.Create(Unsafe.Add(ref xr1, i));
            a10 = Vector512.FusedMultiplyAdd(w0v, b, a10); a11 = Vector512.FusedMultiplyAdd(w1v, b, a11); a12 = Vector512.FusedMultiplyAdd(w2v, b, a12); a13 = Vector512.FusedMultiplyAdd(w3v, b, a13);
            b = Vector512.Create(Unsafe.Add(ref xr2, i));
            a20 = Vector512.FusedMultiplyAdd(w0v, b, a20); a21 = Vector512.FusedMultiplyAdd(w1v, b, a21); a22 = Vector512.FusedMultiplyAdd(w2v, b, a22); a23 = Vector512.FusedMultiplyAdd(w3v, b, a23);
            b = Vector512.Create(Unsafe.Add(ref xr3, i));
            a30 = Vector512.FusedMultiplyAdd(w0v, b, a30); a31 = Vector512.FusedMultiplyAdd(w1v, b, a31); a32 = Vector512.FusedMultiplyAdd(w2v, b, a32); a33 = Vector512.FusedMultiplyAdd(w3v, b, a33);
        }
        a00.StoreUnsafe(ref y00); a01.StoreUnsafe(ref y00, (nuint)lanes); a02.StoreUnsafe(ref y00, (nuint)(2 * lanes)); a03.StoreUnsafe(ref y00, (nuint)(3 * lanes));
        a10.StoreUnsafe(ref y10); a11.StoreUnsafe(ref y10, (nuint)lanes); a12.StoreUnsafe(ref y10, (nuint)(2 * lanes)); a13.StoreUnsafe(ref y10, (nuint)(3 * lanes));
        a20.StoreUnsafe(ref y20); a21.StoreUnsafe(ref y20, (nuint)lanes); a22.StoreUnsafe(ref y20, (nuint)(2 * lanes)); a23.StoreUnsafe(ref y20, (nuint)(3 * lanes));
        a30.StoreUnsafe(ref y30); a31.StoreUnsafe(ref y30, (nuint)lanes); a32.StoreUnsafe(ref y30, (nuint)(2 * lanes)); a33.StoreUnsafe(ref y30, (nuint)(3 * lanes));
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining | MethodImplOptions.AggressiveOptimization)]
    private static void Block1x4Wide(ref float x0, int r, int k, ref float w0, int n, ref float y0, int c, bool accumulate)
    {
        var lanes = Vector512<float>.Count;
        ref var yr = ref Unsafe.Add(ref y0, r * n + c);
        Vector512<float> a0 = default, a1 = default, a2 = default, a3 = default;
        if (accumulate)
        {
            a0 = Vector512.LoadUnsafe(ref yr); a1 = Vector512.LoadUnsafe(ref yr, (nuint)lanes);
            a2 = Vector512.LoadUnsafe(ref yr, (nuint)(2 * lanes)); a3 = Vector512.LoadUnsafe(ref yr, (nuint)(3 * lanes));
        }
        ref var xr = ref Unsafe.Add(ref x0, r * k);
        ref var wp = ref Unsafe.Add(ref w0, c);
        for (var i = 0; i < k; i++)
        {
            ref var wi = ref Unsafe.Add(ref wp, i * n);
            var b = Vector512.Create(Unsafe.Add(ref xr, i));
            a0 = Vector512.FusedMultiplyAdd(Vector512.LoadUnsafe(ref wi), b, a0);
            a1 = Vector512.FusedMultiplyAdd(Vector512.LoadUnsafe(ref wi, (nuint)lanes), b, a1);
            a2 = Vector512.FusedMultiplyAdd(Vector512.LoadUnsafe(ref wi, (nuint)(2 * lanes)), b, a2);
            a3 = Vector512.FusedMultiplyAdd(Vector512.LoadUnsafe(ref wi, (nuint)(3 * lanes)), b, a3);
        }
        a0.StoreUnsafe(ref yr); a1.StoreUnsafe(ref yr, (nuint)lanes);
        a2.StoreUnsafe(ref yr, (nuint)(2 * lanes)); a3.StoreUnsafe(ref yr, (nuint)(3 * lanes));
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining | MethodImplOptions.AggressiveOptimization)]
    private static void Block1x1(ref float x0, int r, int k, ref float w0, int n, ref float y0, int c, bool accumulate)
    {
        ref var yr = ref Unsafe.Add(ref y0, r * n + c);
        var a = accumulate ? Vector.LoadUnsafe(ref yr) : default;
        ref var xr = ref Unsafe.Add(ref x0, r * k);
        ref var wp = ref Unsafe.Add(ref w0, c);
        for (var i = 0; i < k; i++)
            a = Vector.FusedMultiplyAdd(Vector.LoadUnsafe(ref Unsafe.Add(ref wp, i * n)), new Vector<float>(Unsafe.Add(ref xr, i)), a);
        a.StoreUnsafe(ref yr);
    }
}
