using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace MiniLlmPipeline.Generation;

/// <summary>
/// The matrix product the CPU decoder spends its time in: y (m×n) = x (m×k) · w (k×n), fp32, x and y row-major and
/// w <em>packed</em> (<see cref="Pack"/>): cut into panels of <see cref="Panel"/> columns, each panel's k × Panel
/// values contiguous, so that each step of the inner loop broadcasts one input value and multiplies the next run of
/// weights — no horizontal sums, and a panel is read as one sequential stream (unpacked, w's rows were n floats
/// apart: every step of the 4096-wide output layer touched a new page, and batched decoding waited on the TLB).
/// The micro-kernels keep a block of y in registers (the register blocking and packing of Goto &amp; van de Geijn,
/// 2008): 4 rows × 4 vectors on AVX-512, 3 × 4 on AVX2 (its 16 registers). Column panels are split across threads.
/// </summary>
internal sealed class Gemm : IParallelWork
{
    private static readonly int Lanes = Vector<float>.Count;
    // Vector<float> stays 256 bits wide on AVX-512 machines; the panels use the full 512 where the CPU has them
    // (twice the multiply-adds per instruction for batched decoding).
    private static readonly bool Wide = Vector512.IsHardwareAccelerated;

    /// <summary>Columns per panel of a packed matrix: four vectors.</summary>
    public static readonly int Panel = Wide ? 4 * Vector512<float>.Count : 4 * Vector<float>.Count;

    // The product being computed, for the workers (one Gemm per decoder, reused: no allocation per call).
    private float[] _x = [], _w = [], _y = [];
    private int _m, _k, _n;
    private bool _accumulate;

    /// <summary>
    /// Where element (i, j) of a k × n matrix sits packed: full panels first, panel p's (i, j) at
    /// p·k·Panel + i·Panel + (j − p·Panel); the last n mod Panel columns after them, k rows of that width.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int PackedIndex(int i, int j, int k, int n)
    {
        var panel = j / Panel;
        return panel < n / Panel
            ? (panel * k + i) * Panel + j - panel * Panel
            : n / Panel * Panel * k + i * (n % Panel) + j - panel * Panel;
    }

    /// <summary>A row-major k × n matrix packed for <see cref="Multiply"/>.</summary>
    public static float[] Pack(ReadOnlySpan<float> matrix, int k, int n)
    {
        var packed = new float[k * n];
        for (var i = 0; i < k; i++)
            for (var j = 0; j < n; j++)
                packed[PackedIndex(i, j, k, n)] = matrix[i * n + j];
        return packed;
    }

    /// <summary>
    /// y = x·w for w packed by <see cref="Pack"/>, or y += x·w when <paramref name="accumulate"/> (the residual stream
    /// adds in place), split by column panels over up to <paramref name="threads"/> threads of <paramref name="workers"/>.
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
        ref var y0 = ref MemoryMarshal.GetArrayDataReference(y);
        var c = start;
        for (; c + Panel <= end; c += Panel)
        {
            ref var panel = ref Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(w), c * k); // (c / Panel)·k·Panel
            var r = 0;
            if (Wide)
            {
                for (; r + 4 <= m; r += 4) Block4x4Wide(ref x0, r, k, ref panel, n, ref y0, c, accumulate);
                for (; r < m; r++) Block1x4Wide(ref x0, r, k, ref panel, n, ref y0, c, accumulate);
            }
            else
            {
                for (; r + 3 <= m; r += 3) Block3x4(ref x0, r, k, ref panel, n, ref y0, c, accumulate);
                for (; r < m; r++) Block1x4(ref x0, r, k, ref panel, n, ref y0, c, accumulate);
            }
        }
        // The last n mod Panel columns: k rows of that width after the full panels.
        var width = n % Panel;
        ref var tail = ref Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(w), n / Panel * Panel * k);
        for (; c + Lanes <= end; c += Lanes)
            for (var r = 0; r < m; r++) Block1x1(ref x0, r, k, ref Unsafe.Add(ref tail, c - n / Panel * Panel), width, n, ref y0, c, accumulate);
        for (; c < end; c++)
            for (var r = 0; r < m; r++)
            {
                var sum = accumulate ? Unsafe.Add(ref y0, r * n + c) : 0f;
                for (var i = 0; i < k; i++) sum += Unsafe.Add(ref x0, r * k + i) * Unsafe.Add(ref tail, i * width + c - n / Panel * Panel);
                Unsafe.Add(ref y0, r * n + c) = sum;
            }
    }

    /// <summary>
    /// 3 rows × 4 vectors of y on 256-bit vectors: 12 accumulators, 3 broadcasts and the weight vector being used
    /// are the 16 registers AVX2 has (the 4 × 4 block of the wide kernels needs 21 and spilled), and 12
    /// independent multiply-add chains cover the FMA latency.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining | MethodImplOptions.AggressiveOptimization)]
    private static void Block3x4(ref float x0, int r, int k, ref float w0, int n, ref float y0, int c, bool accumulate)
    {
        var lanes = Lanes;
        ref var y00 = ref Unsafe.Add(ref y0, r * n + c);
        ref var y10 = ref Unsafe.Add(ref y00, n);
        ref var y20 = ref Unsafe.Add(ref y10, n);
        Vector<float> a00 = default, a01 = default, a02 = default, a03 = default;
        Vector<float> a10 = default, a11 = default, a12 = default, a13 = default;
        Vector<float> a20 = default, a21 = default, a22 = default, a23 = default;
        if (accumulate)
        {
            a00 = Vector.LoadUnsafe(ref y00); a01 = Vector.LoadUnsafe(ref y00, (nuint)lanes); a02 = Vector.LoadUnsafe(ref y00, (nuint)(2 * lanes)); a03 = Vector.LoadUnsafe(ref y00, (nuint)(3 * lanes));
            a10 = Vector.LoadUnsafe(ref y10); a11 = Vector.LoadUnsafe(ref y10, (nuint)lanes); a12 = Vector.LoadUnsafe(ref y10, (nuint)(2 * lanes)); a13 = Vector.LoadUnsafe(ref y10, (nuint)(3 * lanes));
            a20 = Vector.LoadUnsafe(ref y20); a21 = Vector.LoadUnsafe(ref y20, (nuint)lanes); a22 = Vector.LoadUnsafe(ref y20, (nuint)(2 * lanes)); a23 = Vector.LoadUnsafe(ref y20, (nuint)(3 * lanes));
        }
        ref var xr0 = ref Unsafe.Add(ref x0, r * k);
        ref var xr1 = ref Unsafe.Add(ref xr0, k);
        ref var xr2 = ref Unsafe.Add(ref xr1, k);
        for (var i = 0; i < k; i++)
        {
            ref var wi = ref Unsafe.Add(ref w0, i * Panel);
            var b0 = new Vector<float>(Unsafe.Add(ref xr0, i));
            var b1 = new Vector<float>(Unsafe.Add(ref xr1, i));
            var b2 = new Vector<float>(Unsafe.Add(ref xr2, i));
            var w = Vector.LoadUnsafe(ref wi);
            a00 = Vector.FusedMultiplyAdd(w, b0, a00); a10 = Vector.FusedMultiplyAdd(w, b1, a10); a20 = Vector.FusedMultiplyAdd(w, b2, a20);
            w = Vector.LoadUnsafe(ref wi, (nuint)lanes);
            a01 = Vector.FusedMultiplyAdd(w, b0, a01); a11 = Vector.FusedMultiplyAdd(w, b1, a11); a21 = Vector.FusedMultiplyAdd(w, b2, a21);
            w = Vector.LoadUnsafe(ref wi, (nuint)(2 * lanes));
            a02 = Vector.FusedMultiplyAdd(w, b0, a02); a12 = Vector.FusedMultiplyAdd(w, b1, a12); a22 = Vector.FusedMultiplyAdd(w, b2, a22);
            w = Vector.LoadUnsafe(ref wi, (nuint)(3 * lanes));
            a03 = Vector.FusedMultiplyAdd(w, b0, a03); a13 = Vector.FusedMultiplyAdd(w, b1, a13); a23 = Vector.FusedMultiplyAdd(w, b2, a23);
        }
        a00.StoreUnsafe(ref y00); a01.StoreUnsafe(ref y00, (nuint)lanes); a02.StoreUnsafe(ref y00, (nuint)(2 * lanes)); a03.StoreUnsafe(ref y00, (nuint)(3 * lanes));
        a10.StoreUnsafe(ref y10); a11.StoreUnsafe(ref y10, (nuint)lanes); a12.StoreUnsafe(ref y10, (nuint)(2 * lanes)); a13.StoreUnsafe(ref y10, (nuint)(3 * lanes));
        a20.StoreUnsafe(ref y20); a21.StoreUnsafe(ref y20, (nuint)lanes); a22.StoreUnsafe(ref y20, (nuint)(2 * lanes)); a23.StoreUnsafe(ref y20, (nuint)(3 * lanes));
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
        // Even and odd steps of i in two sets of accumulators: eight multiply-add chains in flight, not four.
        Vector<float> b0 = default, b1 = default, b2 = default, b3 = default;
        ref var xr = ref Unsafe.Add(ref x0, r * k);
        var i = 0;
        for (; i + 2 <= k; i += 2)
        {
            ref var wi = ref Unsafe.Add(ref w0, i * Panel);
            var x = new Vector<float>(Unsafe.Add(ref xr, i));
            a0 = Vector.FusedMultiplyAdd(Vector.LoadUnsafe(ref wi), x, a0);
            a1 = Vector.FusedMultiplyAdd(Vector.LoadUnsafe(ref wi, (nuint)lanes), x, a1);
            a2 = Vector.FusedMultiplyAdd(Vector.LoadUnsafe(ref wi, (nuint)(2 * lanes)), x, a2);
            a3 = Vector.FusedMultiplyAdd(Vector.LoadUnsafe(ref wi, (nuint)(3 * lanes)), x, a3);
            ref var next = ref Unsafe.Add(ref wi, Panel);
            x = new Vector<float>(Unsafe.Add(ref xr, i + 1));
            b0 = Vector.FusedMultiplyAdd(Vector.LoadUnsafe(ref next), x, b0);
            b1 = Vector.FusedMultiplyAdd(Vector.LoadUnsafe(ref next, (nuint)lanes), x, b1);
            b2 = Vector.FusedMultiplyAdd(Vector.LoadUnsafe(ref next, (nuint)(2 * lanes)), x, b2);
            b3 = Vector.FusedMultiplyAdd(Vector.LoadUnsafe(ref next, (nuint)(3 * lanes)), x, b3);
        }
        if (i < k)
        {
            ref var wi = ref Unsafe.Add(ref w0, i * Panel);
            var x = new Vector<float>(Unsafe.Add(ref xr, i));
            a0 = Vector.FusedMultiplyAdd(Vector.LoadUnsafe(ref wi), x, a0);
            a1 = Vector.FusedMultiplyAdd(Vector.LoadUnsafe(ref wi, (nuint)lanes), x, a1);
            a2 = Vector.FusedMultiplyAdd(Vector.LoadUnsafe(ref wi, (nuint)(2 * lanes)), x, a2);
            a3 = Vector.FusedMultiplyAdd(Vector.LoadUnsafe(ref wi, (nuint)(3 * lanes)), x, a3);
        }
        (a0, a1, a2, a3) = (a0 + b0, a1 + b1, a2 + b2, a3 + b3);
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
        for (var i = 0; i < k; i++)
        {
            ref var wi = ref Unsafe.Add(ref w0, i * Panel);
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
        for (var i = 0; i < k; i++)
        {
            ref var wi = ref Unsafe.Add(ref w0, i * Panel);
            var b = Vector512.Create(Unsafe.Add(ref xr, i));
            a0 = Vector512.FusedMultiplyAdd(Vector512.LoadUnsafe(ref wi), b, a0);
            a1 = Vector512.FusedMultiplyAdd(Vector512.LoadUnsafe(ref wi, (nuint)lanes), b, a1);
            a2 = Vector512.FusedMultiplyAdd(Vector512.LoadUnsafe(ref wi, (nuint)(2 * lanes)), b, a2);
            a3 = Vector512.FusedMultiplyAdd(Vector512.LoadUnsafe(ref wi, (nuint)(3 * lanes)), b, a3);
        }
        a0.StoreUnsafe(ref yr); a1.StoreUnsafe(ref yr, (nuint)lanes);
        a2.StoreUnsafe(ref yr, (nuint)(2 * lanes)); a3.StoreUnsafe(ref yr, (nuint)(3 * lanes));
    }

    /// <summary>One vector of y, from w's tail block whose rows are <paramref name="stride"/> floats apart.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining | MethodImplOptions.AggressiveOptimization)]
    private static void Block1x1(ref float x0, int r, int k, ref float w0, int stride, int n, ref float y0, int c, bool accumulate)
    {
        ref var yr = ref Unsafe.Add(ref y0, r * n + c);
        var a = accumulate ? Vector.LoadUnsafe(ref yr) : default;
        ref var xr = ref Unsafe.Add(ref x0, r * k);
        for (var i = 0; i < k; i++)
            a = Vector.FusedMultiplyAdd(Vector.LoadUnsafe(ref Unsafe.Add(ref w0, i * stride)), new Vector<float>(Unsafe.Add(ref xr, i)), a);
        a.StoreUnsafe(ref yr);
    }
}
