using TensorPrimitives = System.Numerics.Tensors.TensorPrimitives;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using TorchSharp;
using static TorchSharp.torch;

namespace MiniLlmPipeline.Model;

/// <summary>
/// Causal grouped-query attention y = softmax(QKᵀ/√d)·V, forward and backward each one C# kernel, for fp32 q
/// (B, H, T, D), k and v (B, Hkv, T, D) contiguous in CPU memory (what <see cref="FusedRotaryQkv"/> writes). Written as
/// tensor operations (<see cref="CausalSelfAttention.ExplicitAttention"/>) a layer of the default model was two batched
/// GEMMs over the whole T×T square, a softmax and a transposed copy forward, and a softmax backward and four GEMMs
/// backward, every pass over 8 MB of scores in memory. Here the work goes by key/value head: the head's keys (scaled by
/// 1/√d, transposed) and values stay in cache while its n_heads / n_kv_heads query heads are done, four query rows at a
/// time, each over the keys it may see (rounded up to a whole vector), so the upper triangle is never computed. The
/// output goes straight to (B, T, H·D), the layout the output projection multiplies.
/// <para>Backward (the softmax's, as in FlashAttention, Dao et al. 2022, §B.2, from the saved probabilities P instead
/// of recomputing them): dP = dY·Vᵀ, dS = P ⊙ (dP − rowsum(P ⊙ dP)), dQ = dS·K/√d, dK = dSᵀ·Q/√d summed over the
/// group's query heads, dV = Pᵀ·dY likewise.</para>
/// </summary>
internal static unsafe class FusedCausalAttention
{
    /// <summary>Rows of a register tile: four query rows (or keys, for dK and dV) at a time.</summary>
    private const int Rows = 4;

    /// <summary>Columns of a full register tile: four 8-float vectors, so a 4×32 tile is 16 accumulators.</summary>
    private const int ColumnBlock = 32;

    /// <summary>
    /// Whether the kernel takes these: fp32 CPU tensors, q (B, H, T, D) and k, v (B, Hkv, T, D) contiguous, H a multiple
    /// of Hkv, T a multiple of 4 (the row tile) up to <see cref="MaxKeys"/> and D a multiple of 8 (one vector).
    /// </summary>
    public static bool Accepts(Tensor q, Tensor k, Tensor v) =>
        RowKernels.Accepts(q, k, v) && q.dim() == 4 && k.dim() == 4 && k.shape.SequenceEqual(v.shape)
        && q.shape[0] == k.shape[0] && q.shape[2] == k.shape[2] && q.shape[3] == k.shape[3]
        && k.shape[1] > 0 && q.shape[1] % k.shape[1] == 0 && q.shape[2] % Rows == 0 && q.shape[2] <= MaxKeys && q.shape[3] % 8 == 0;

    /// <summary>
    /// The longest context the kernel's int offsets within one head's T×T scores can address; callers stop far earlier
    /// (<see cref="CausalSelfAttention.FusedMaxKeys"/>), as the saved probabilities grow with T².
    /// </summary>
    public const int MaxKeys = 16384;

    /// <summary>Causal attention of each query head over its key/value head, (B, T, H·D); differentiable in q, k and v.</summary>
    public static Tensor Apply(Tensor q, Tensor k, Tensor v)
    {
        if (torch.is_grad_enabled() && (q.requires_grad || k.requires_grad || v.requires_grad)) return Function.apply(q, k, v);
        using var noGrad = torch.no_grad();
        return Forward(q, k, v, keepProbabilities: false).Output;
    }

    /// <summary>The sizes one call works with; a row of scores is <see cref="Stride"/> floats, T rounded up to a vector.</summary>
    private readonly record struct Sizes(long Batch, int Heads, int KvHeads, int T, int D)
    {
        public static Sizes Of(Tensor q, Tensor k) => new(q.shape[0], (int)q.shape[1], (int)k.shape[1], (int)q.shape[2], (int)q.shape[3]);

        public int Group => Heads / KvHeads;
        public int Stride => (T + 7) / 8 * 8;
        /// <summary>Work items: one per (sequence, key/value head), with the query heads that share it.</summary>
        public long Units => Batch * KvHeads;

        /// <summary>Score columns computed for the row tile starting at query position t0: its keys, to whole vectors.</summary>
        public int ScoreWidth(int t0) => Math.Min(Stride, (t0 + Rows + 7) / 8 * 8);
    }

    /// <summary>
    /// y (B, T, H·D), and with <paramref name="keepProbabilities"/> P (B, H, T, Stride) for the backward pass: row t holds
    /// the probabilities of keys 0..t and zeros up to the end of its row tile (what the backward products read); the
    /// columns after that are left unspecified.
    /// </summary>
    private static (Tensor Output, Tensor? Probabilities) Forward(Tensor q, Tensor k, Tensor v, bool keepProbabilities)
    {
        var s = Sizes.Of(q, k);
        var y = torch.empty(s.Batch, s.T, s.Heads * s.D, dtype: ScalarType.Float32);
        var probabilities = keepProbabilities ? torch.empty(s.Batch, s.Heads, s.T, s.Stride, dtype: ScalarType.Float32) : null;
        float* pq = RowKernels.Floats(q), pk = RowKernels.Floats(k), pv = RowKernels.Floats(v), py = RowKernels.Floats(y);
        var pp = probabilities is null ? null : RowKernels.Floats(probabilities);
        var scale = 1f / MathF.Sqrt(s.D);
        long yRow = s.Heads * s.D;
        // Scratch: the unit's keys transposed and scaled, and without autograd one head's probabilities.
        ForEachUnit(s, s.D * s.Stride, pp == null ? s.T * s.Stride : 0, (unit, batch, kvHead, keysT, scratchP) =>
        {
            Transpose(pk + unit * s.T * s.D, keysT, s.T, s.D, s.Stride, scale);
            var values = pv + unit * s.T * s.D;
            for (var g = 0; g < s.Group; g++)
            {
                var head = kvHead * s.Group + g;
                var qh = pq + (batch * s.Heads + head) * s.T * s.D;
                var p = pp == null ? scratchP : pp + (batch * s.Heads + head) * s.T * s.Stride;
                var yh = py + batch * s.T * yRow + head * s.D;
                for (var t0 = 0; t0 < s.T; t0 += Rows)
                {
                    var width = s.ScoreWidth(t0);
                    Tile(qh + t0 * s.D, s.D, 1, 0, s.D, keysT, s.Stride, p + t0 * s.Stride, s.Stride, width, 1, false); // S = Q·(Kᵀ/√d)
                    for (var r = t0; r < t0 + Rows; r++) SoftmaxRow(p + r * s.Stride, r + 1, t0 + Rows);
                    Tile(p + t0 * s.Stride, s.Stride, 1, 0, t0 + Rows, values, s.D, yh + t0 * yRow, yRow, s.D, 1, false); // P·V
                }
            }
        });
        return (y, probabilities);
    }

    private static List<Tensor> Backward(Tensor gradY, Tensor q, Tensor k, Tensor v, Tensor probabilities)
    {
        var s = Sizes.Of(q, k);
        var (gradQ, gradK, gradV) = (torch.empty_like(q), torch.empty_like(k), torch.empty_like(v));
        float* pdy = RowKernels.Floats(gradY), pq = RowKernels.Floats(q), pk = RowKernels.Floats(k), pv = RowKernels.Floats(v);
        float* pp = RowKernels.Floats(probabilities), pdq = RowKernels.Floats(gradQ), pdk = RowKernels.Floats(gradK), pdv = RowKernels.Floats(gradV);
        var scale = 1f / MathF.Sqrt(s.D);
        long yRow = s.Heads * s.D;
        // Scratch: the unit's values transposed, and one head's dP, then dS.
        ForEachUnit(s, s.D * s.Stride, s.T * s.Stride, (unit, batch, kvHead, valuesT, gradScores) =>
        {
            Transpose(pv + unit * s.T * s.D, valuesT, s.T, s.D, s.Stride, 1);
            float* keys = pk + unit * s.T * s.D, dk = pdk + unit * s.T * s.D, dv = pdv + unit * s.T * s.D;
            for (var g = 0; g < s.Group; g++)
            {
                var head = kvHead * s.Group + g;
                var offset = (batch * s.Heads + head) * s.T;
                float* qh = pq + offset * s.D, dqh = pdq + offset * s.D, p = pp + offset * s.Stride;
                var dyh = pdy + batch * s.T * yRow + head * s.D;
                for (var t0 = 0; t0 < s.T; t0 += Rows)
                {
                    var width = s.ScoreWidth(t0);
                    Tile(dyh + t0 * yRow, yRow, 1, 0, s.D, valuesT, s.Stride, gradScores + t0 * s.Stride, s.Stride, width, 1, false); // dP = dY·Vᵀ
                    for (var r = t0; r < t0 + Rows; r++) ScoreGradientRow(p + r * s.Stride, gradScores + r * s.Stride, r + 1, t0 + Rows);
                    Tile(gradScores + t0 * s.Stride, s.Stride, 1, 0, t0 + Rows, keys, s.D, dqh + t0 * s.D, s.D, s.D, scale, false); // dQ = dS·K/√d
                }
                // Keys j0..j0+3 are seen by query rows j0..T−1 (key j0+i from row j0+i on: rows j0..j0+2 of P and dS
                // hold zeros right of the diagonal up to j0+3, which is what SoftmaxRow's and ScoreGradientRow's end
                // is for); dSᵀ and Pᵀ are read in place, a column as a tile row.
                for (var j0 = 0; j0 < s.T; j0 += Rows)
                {
                    Tile(gradScores + j0, 1, s.Stride, j0, s.T, qh, s.D, dk + j0 * s.D, s.D, s.D, scale, g > 0); // dK += dSᵀ·Q/√d
                    Tile(p + j0, 1, s.Stride, j0, s.T, dyh, yRow, dv + j0 * s.D, s.D, s.D, 1, g > 0);           // dV += Pᵀ·dY
                }
            }
        });
        return [gradQ, gradK, gradV];
    }

    /// <summary>One work item: its index, sequence and key/value head, and this part's two scratch buffers.</summary>
    private delegate void UnitBody(long unit, long batch, int kvHead, float* first, float* second);

    /// <summary>
    /// Runs <paramref name="body"/> for every (sequence, key/value head) on libtorch's threads, each part with scratch
    /// buffers of the given sizes in floats (0: none) that it reuses for all its units.
    /// </summary>
    private static void ForEachUnit(Sizes s, long firstFloats, long secondFloats, UnitBody body) =>
        RowKernels.For(s.Units, (start, end, _) =>
        {
            float* first = null, second = null;
            try
            {
                first = Scratch(firstFloats);
                if (secondFloats > 0) second = Scratch(secondFloats);
                for (var unit = start; unit < end; unit++) body(unit, unit / s.KvHeads, (int)(unit % s.KvHeads), first, second);
            }
            finally
            {
                NativeMemory.AlignedFree(first);        // null is allowed
                NativeMemory.AlignedFree(second);
            }
        });

    /// <summary>
    /// Four rows of C = α·A·B (or C += α·A·B): c[i, n] for i &lt; 4 and n &lt; <paramref name="width"/> (a multiple of 8)
    /// over k in [<paramref name="kStart"/>, <paramref name="kEnd"/>), A's element (i, k) at a[i·aRow + k·aCol] (so a
    /// transposed A is read in place), B and C row-major. Each 32-column block keeps its 4×32 sums in 16 registers.
    /// </summary>
    private static void Tile(float* a, long aRow, long aCol, int kStart, int kEnd, float* b, long bRow, float* c, long cRow,
        int width, float alpha, bool accumulate)
    {
        var n = 0;
        for (; n + ColumnBlock <= width; n += ColumnBlock)
        {
            Vector256<float> c00 = default, c01 = default, c02 = default, c03 = default;
            Vector256<float> c10 = default, c11 = default, c12 = default, c13 = default;
            Vector256<float> c20 = default, c21 = default, c22 = default, c23 = default;
            Vector256<float> c30 = default, c31 = default, c32 = default, c33 = default;
            for (var k = kStart; k < kEnd; k++)
            {
                var bk = b + k * bRow + n;
                var (b0, b1, b2, b3) = (Vector256.Load(bk), Vector256.Load(bk + 8), Vector256.Load(bk + 16), Vector256.Load(bk + 24));
                var ak = a + k * aCol;
                var a0 = Vector256.Create(ak[0]);
                c00 = Vector256.FusedMultiplyAdd(a0, b0, c00); c01 = Vector256.FusedMultiplyAdd(a0, b1, c01);
                c02 = Vector256.FusedMultiplyAdd(a0, b2, c02); c03 = Vector256.FusedMultiplyAdd(a0, b3, c03);
                var a1 = Vector256.Create(ak[aRow]);
                c10 = Vector256.FusedMultiplyAdd(a1, b0, c10); c11 = Vector256.FusedMultiplyAdd(a1, b1, c11);
                c12 = Vector256.FusedMultiplyAdd(a1, b2, c12); c13 = Vector256.FusedMultiplyAdd(a1, b3, c13);
                var a2 = Vector256.Create(ak[2 * aRow]);
                c20 = Vector256.FusedMultiplyAdd(a2, b0, c20); c21 = Vector256.FusedMultiplyAdd(a2, b1, c21);
                c22 = Vector256.FusedMultiplyAdd(a2, b2, c22); c23 = Vector256.FusedMultiplyAdd(a2, b3, c23);
                var a3 = Vector256.Create(ak[3 * aRow]);
                c30 = Vector256.FusedMultiplyAdd(a3, b0, c30); c31 = Vector256.FusedMultiplyAdd(a3, b1, c31);
                c32 = Vector256.FusedMultiplyAdd(a3, b2, c32); c33 = Vector256.FusedMultiplyAdd(a3, b3, c33);
            }
            Store(c + n, c00, c01, c02, c03, alpha, accumulate);
            Store(c + cRow + n, c10, c11, c12, c13, alpha, accumulate);
            Store(c + 2 * cRow + n, c20, c21, c22, c23, alpha, accumulate);
            Store(c + 3 * cRow + n, c30, c31, c32, c33, alpha, accumulate);
        }
        for (; n < width; n += 8)
        {
            Vector256<float> c0 = default, c1 = default, c2 = default, c3 = default;
            for (var k = kStart; k < kEnd; k++)
            {
                var bk = Vector256.Load(b + k * bRow + n);
                var ak = a + k * aCol;
                c0 = Vector256.FusedMultiplyAdd(Vector256.Create(ak[0]), bk, c0);
                c1 = Vector256.FusedMultiplyAdd(Vector256.Create(ak[aRow]), bk, c1);
                c2 = Vector256.FusedMultiplyAdd(Vector256.Create(ak[2 * aRow]), bk, c2);
                c3 = Vector256.FusedMultiplyAdd(Vector256.Create(ak[3 * aRow]), bk, c3);
            }
            Store(c + n, c0, alpha, accumulate);
            Store(c + cRow + n, c1, alpha, accumulate);
            Store(c + 2 * cRow + n, c2, alpha, accumulate);
            Store(c + 3 * cRow + n, c3, alpha, accumulate);
        }
    }

    private static void Store(float* c, Vector256<float> v0, Vector256<float> v1, Vector256<float> v2, Vector256<float> v3, float alpha, bool accumulate)
    {
        Store(c, v0, alpha, accumulate);
        Store(c + 8, v1, alpha, accumulate);
        Store(c + 16, v2, alpha, accumulate);
        Store(c + 24, v3, alpha, accumulate);
    }

    private static void Store(float* c, Vector256<float> sum, float alpha, bool accumulate)
    {
        var value = alpha == 1 ? sum : sum * alpha;
        Vector256.Store(accumulate ? Vector256.Load(c) + value : value, c);
    }

    /// <summary>
    /// Scores s[0..keys) to their softmax in place; s[keys..end) to zero (keys a query may not see). Not the decoder's
    /// <c>StableSoftMax</c>: TensorPrimitives.SoftMax takes every exp twice (once for the sum, once to store it), here
    /// each is stored as it is summed.
    /// </summary>
    private static void SoftmaxRow(float* s, int keys, int end)
    {
        var rowMax = TensorPrimitives.Max(new ReadOnlySpan<float>(s, keys));
        var shift = Vector256.Create(rowMax);
        var sums = Vector256<float>.Zero;
        int j;
        for (j = 0; j + 8 <= keys; j += 8)
        {
            var e = Vector256.Exp(Vector256.Load(s + j) - shift);
            Vector256.Store(e, s + j);
            sums += e;
        }
        var sum = Vector256.Sum(sums);
        for (; j < keys; j++) sum += s[j] = MathF.Exp(s[j] - rowMax);

        var inverse = 1 / sum;
        for (j = 0; j + 8 <= keys; j += 8) Vector256.Store(Vector256.Load(s + j) * inverse, s + j);
        for (; j < keys; j++) s[j] *= inverse;
        new Span<float>(s + keys, end - keys).Clear();
    }

    /// <summary>dP[0..keys) to dS = P ⊙ (dP − Σ P ⊙ dP) in place; dS[keys..end) to zero.</summary>
    private static void ScoreGradientRow(float* p, float* gradient, int keys, int end)
    {
        var dot = TensorPrimitives.Dot(new ReadOnlySpan<float>(p, keys), new ReadOnlySpan<float>(gradient, keys));
        var shift = Vector256.Create(dot);
        int j;
        for (j = 0; j + 8 <= keys; j += 8) Vector256.Store(Vector256.Load(p + j) * (Vector256.Load(gradient + j) - shift), gradient + j);
        for (; j < keys; j++) gradient[j] = p[j] * (gradient[j] - dot);
        new Span<float>(gradient + keys, end - keys).Clear();
    }

    /// <summary>dst (D, stride) = src (T, D)ᵀ · factor, columns T..stride zero.</summary>
    private static void Transpose(float* src, float* dst, int t, int d, int stride, float factor)
    {
        for (var i = 0; i < d; i++)
        {
            var row = dst + i * stride;
            for (var j = 0; j < t; j++) row[j] = src[j * d + i] * factor;
            new Span<float>(row + t, stride - t).Clear();
        }
    }

    private static float* Scratch(long floats) => (float*)NativeMemory.AlignedAlloc((nuint)(floats * sizeof(float)), 64);

    private sealed class Function : autograd.SingleTensorFunction<Function>
    {
        public override string Name => nameof(FusedCausalAttention);

        public override Tensor forward(autograd.AutogradContext ctx, params object[] vars)
        {
            var (q, k, v) = ((Tensor)vars[0], (Tensor)vars[1], (Tensor)vars[2]);
            var (y, probabilities) = Forward(q, k, v, keepProbabilities: true);
            ctx.save_for_backward([q, k, v, probabilities!]);
            return y;
        }

        public override List<Tensor> backward(autograd.AutogradContext ctx, Tensor gradOutput)
        {
            using var scope = torch.NewDisposeScope();
            var saved = ctx.get_saved_variables();
            return Backward(gradOutput.contiguous(), saved[0], saved[1], saved[2], saved[3]).Select(g => g.MoveToOuterDisposeScope()).ToList();
        }
    }
}
