using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Numerics.Tensors;
using Tensor = TorchSharp.torch.Tensor;
using MiniLlmPipeline.Model;
using TorchSharp;
using static TorchSharp.torch;

namespace MiniLlmPipeline.Generation;

/// <summary>
/// Inference of a <see cref="Gpt"/> in plain C# on the CPU, for decoding: the same forward pass as the model
/// (RMSNorm → grouped-query attention with RoPE → SwiGLU, tied or untied output), computed from an fp32 snapshot
/// of its weights laid out for decoding — q, k and v fused into one matrix and gate and up into another, every
/// matrix stored transposed (in × out) for <see cref="Gemm"/>. Not thread-safe: one decoding loop per instance. One decoding step of the default model is ~11 MFLOP
/// spread over ~360 tensor ops, so through libtorch it is bound by per-op call overhead; here a step is a few
/// dozen loops over preallocated arrays (bench/README.md: generate). The torch model stays the reference the tests
/// hold this one to, and the only path for training and for GPUs.
/// </summary>
public sealed class CpuDecoder : IParallelWork
{
    private readonly GptConfig _config;
    private readonly LayerWeights[] _layers;
    private readonly float[] _embedding;   // (V, C): row lookup
    private readonly float[] _output;      // (C, V): the embedding transposed when tied, else lm_headᵀ
    private readonly float[] _finalNorm;   // (C)
    private readonly float[] _cos;         // (max_seq_len, D)
    private readonly float[] _sin;         // (max_seq_len, D)
    private readonly int _qkvWidth;        // (H + 2·Hkv)·D
    private readonly Gemm _gemm = new();
    private Workspace? _work;
    // The attention being computed, for the workers.
    private (DecodeCache Cache, int Layer, int Rows) _attention;

    private sealed record LayerWeights(float[] InputNorm, float[] Qkv, float[] O, float[] PostNorm, float[] GateUp, float[] Down);

    // One decoder per model, its arrays reused by every later call: allocating ~22 MB of weights and the cache
    // afresh cost more in page faults than copying the weights does.
    private static readonly ConditionalWeakTable<Gpt, CpuDecoder> PerModel = new();
    private int _inUse;
    private DecodeCache? _sharedCache;

    private CpuDecoder(GptConfig config, int threads)
    {
        var (c, d, f) = (config.DModel, config.HeadDim, config.FfnHidden);
        _config = config;
        _qkvWidth = (config.NHeads + 2 * config.NKvHeads) * d;
        _layers = Enumerable.Range(0, config.NLayers).Select(_ => new LayerWeights(
            new float[c], new float[c * _qkvWidth], new float[config.NHeads * d * c], new float[c], new float[c * 2 * f], new float[f * c])).ToArray();
        _embedding = new float[config.VocabSize * c];
        _output = new float[c * config.VocabSize];
        _finalNorm = new float[c];
        (_cos, _sin) = RotaryTables(config);
        Threads = threads;
    }

    /// <summary>Threads a step may use, the caller's included (<see cref="SpinningWorkers"/>).</summary>
    public int Threads
    {
        get;
        set
        {
            field = Math.Max(1, value);
            _workers = field > 1 ? SpinningWorkers.Shared(field) : null;
        }
    }

    private SpinningWorkers? _workers;

    public GptConfig Config => _config;

    /// <summary>A decoder holding a copy of the model's current weights (training goes on changing the model, not the copy).</summary>
    public static CpuDecoder FromModel(Gpt model, int threads)
    {
        var decoder = new CpuDecoder(model.Config, threads);
        decoder.Load(model);
        return decoder;
    }

    /// <summary>
    /// Runs <paramref name="decode"/> on this model's decoder, reloaded with the model's current weights, and on a
    /// cache of at least <paramref name="slots"/> slots, all of them empty. A second caller while one decodes gets a
    /// decoder of its own.
    /// </summary>
    public static T WithModel<T>(Gpt model, int threads, int slots, Func<CpuDecoder, DecodeCache, T> decode)
    {
        var decoder = PerModel.GetValue(model, m => new CpuDecoder(m.Config, threads));
        if (Interlocked.Exchange(ref decoder._inUse, 1) == 1) decoder = new CpuDecoder(model.Config, threads);
        try
        {
            decoder.Threads = threads;
            decoder.Load(model);
            if (decoder._sharedCache is null || decoder._sharedCache.Slots < slots) decoder._sharedCache = decoder.NewCache(slots);
            for (var slot = 0; slot < decoder._sharedCache.Slots; slot++) decoder._sharedCache.Clear(slot);
            return decode(decoder, decoder._sharedCache);
        }
        finally
        {
            Volatile.Write(ref decoder._inUse, 0);
        }
    }

    /// <summary>Copies the model's weights into this decoder's layout: q|k|v and gate|up fused, every matrix (in, out), packed.</summary>
    private void Load(Gpt model)
    {
        using var noGrad = torch.no_grad();
        using var scope = torch.NewDisposeScope();
        // LoRA adapters (an RL stage's policy samples its rollouts with them) are merged into the copy.
        var weights = LoraAdapters.MergedWeights(model);
        ReadOnlySpan<float> Values(string name) => weights.TryGetValue(name, out var w)
            ? MemoryMarshal.Cast<byte, float>(w.detach().to(float32).cpu().contiguous().bytes)
            : throw new ArgumentException($"the model has no parameter '{name}'");
        // (out, in) torch weights → one (in, out) matrix, the parts side by side along out.
        void Transposed(float[] destination, params string[] names)
        {
            var width = destination.Length / (int)weights[names[0]].shape[1];
            var column = 0;
            foreach (var name in names)
            {
                var rows = (int)weights[name].shape[0];
                TransposeInto(Values(name), rows, (int)weights[name].shape[1], destination, width, column);
                column += rows;
            }
        }

        for (var i = 0; i < _config.NLayers; i++)
        {
            var (p, layer) = ($"model.layers.{i}.", _layers[i]);
            Values(p + "input_layernorm.weight").CopyTo(layer.InputNorm);
            Transposed(layer.Qkv, p + "self_attn.q_proj.weight", p + "self_attn.k_proj.weight", p + "self_attn.v_proj.weight");
            Transposed(layer.O, p + "self_attn.o_proj.weight");
            Values(p + "post_attention_layernorm.weight").CopyTo(layer.PostNorm);
            Transposed(layer.GateUp, p + "mlp.gate_proj.weight", p + "mlp.up_proj.weight");
            Transposed(layer.Down, p + "mlp.down_proj.weight");
        }
        Values("model.embed_tokens.weight").CopyTo(_embedding);
        Transposed(_output, _config.TieWordEmbeddings ? "model.embed_tokens.weight" : "lm_head.weight");
        Values("model.norm.weight").CopyTo(_finalNorm);
    }

    /// <summary>destination[c, offset + r] = source[r, c] for source (rows, cols) and destination (cols, width) packed by <see cref="Gemm.Pack"/>, in cache-sized tiles.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void TransposeInto(ReadOnlySpan<float> source, int rows, int cols, float[] destination, int width, int offset)
    {
        const int tile = 32;
        for (var r0 = 0; r0 < rows; r0 += tile)
            for (var c0 = 0; c0 < cols; c0 += tile)
                for (var r = r0; r < Math.Min(rows, r0 + tile); r++)
                    for (var c = c0; c < Math.Min(cols, c0 + tile); c++)
                        destination[Gemm.PackedIndex(c, offset + r, cols, width)] = source[r * cols + c];
    }

    /// <summary>A cache for <paramref name="slots"/> sequences of up to the context length each.</summary>
    public DecodeCache NewCache(int slots) =>
        new(slots, _config.NLayers, _config.NKvHeads, _config.HeadDim, _config.MaxSeqLen);

    /// <summary>
    /// Feeds sequence i's <paramref name="counts"/>[i] new tokens (consecutive in <paramref name="tokens"/>) after
    /// what slot <paramref name="slots"/>[i] already holds, and writes the next-token logits after each sequence's
    /// last new token into row i of <paramref name="logits"/> (sequences × V). A prompt is fed whole (prefill),
    /// then one token per step; sequences at different lengths share a call.
    /// </summary>
    public void Forward(DecodeCache cache, ReadOnlySpan<int> slots, ReadOnlySpan<int> tokens, ReadOnlySpan<int> counts, Span<float> logits)
    {
        var (c, v) = (_config.DModel, _config.VocabSize);
        var sequences = slots.Length;
        if (counts.Length != sequences) throw new ArgumentException("one count per slot", nameof(counts));
        if (logits.Length < sequences * v) throw new ArgumentException($"logits need {sequences} × {v} values", nameof(logits));
        var rows = 0;
        for (var s = 0; s < sequences; s++)
        {
            if (counts[s] <= 0) throw new ArgumentException("every sequence needs at least one new token", nameof(counts));
            if (cache.Length(slots[s]) + counts[s] > cache.Capacity)
                throw new InvalidOperationException($"slot {slots[s]} would hold {cache.Length(slots[s]) + counts[s]} positions; the context is {cache.Capacity}");
            rows += counts[s];
        }
        if (tokens.Length != rows) throw new ArgumentException($"expected {rows} tokens, got {tokens.Length}", nameof(tokens));
        var work = Reserve(rows, sequences);

        // Each row's slot and position, and the embedding lookup.
        for (int s = 0, row = 0; s < sequences; s++)
            for (var i = 0; i < counts[s]; i++, row++)
            {
                work.RowSlot[row] = slots[s];
                work.RowPosition[row] = cache.Length(slots[s]) + i;
                var id = tokens[row];
                if ((uint)id >= (uint)v) throw new ArgumentOutOfRangeException(nameof(tokens), $"token id {id} is outside the vocabulary of {v}");
                _embedding.AsSpan(id * c, c).CopyTo(work.X.AsSpan(row * c, c));
            }

        for (var layer = 0; layer < _layers.Length; layer++) Block(layer, cache, rows, work);
        for (var s = 0; s < sequences; s++) cache.Advance(slots[s], counts[s]);

        // Logits only at each sequence's last position.
        for (int s = 0, last = -1; s < sequences; s++)
        {
            last += counts[s];
            RmsNorm(work.X.AsSpan(last * c, c), _finalNorm, work.Normed.AsSpan(s * c, c));
        }
        _gemm.Multiply(work.Normed, sequences, c, _output, v, work.Logits, accumulate: false, _workers, Threads);
        work.Logits.AsSpan(0, sequences * v).CopyTo(logits);
    }

    /// <summary>x += attn(norm(x)); x += mlp(norm(x)) for every row, keys and values of the rows into the cache first.</summary>
    private void Block(int layer, DecodeCache cache, int rows, Workspace work)
    {
        var weights = _layers[layer];
        var (c, d, f) = (_config.DModel, _config.HeadDim, _config.FfnHidden);
        var (heads, kvHeads) = (_config.NHeads, _config.NKvHeads);
        for (var row = 0; row < rows; row++)
            RmsNorm(work.X.AsSpan(row * c, c), weights.InputNorm, work.Normed.AsSpan(row * c, c));
        _gemm.Multiply(work.Normed, rows, c, weights.Qkv, _qkvWidth, work.Qkv, accumulate: false, _workers, Threads); // (rows, (H+2Hkv)·D)

        for (var row = 0; row < rows; row++)
        {
            var qkv = work.Qkv.AsSpan(row * _qkvWidth, _qkvWidth);
            var position = work.RowPosition[row];
            for (var h = 0; h < heads + kvHeads; h++) Rotate(qkv.Slice(h * d, d), position); // q heads, then k heads
            for (var g = 0; g < kvHeads; g++)
            {
                // Keys stored transposed, (D, positions), so the scores are vectors along positions; values (positions, D).
                var at = cache.Offset(work.RowSlot[row], layer, g);
                var key = qkv.Slice((heads + g) * d, d);
                for (var i = 0; i < d; i++) cache.Keys[at + i * cache.Capacity + position] = key[i];
                qkv.Slice((heads + kvHeads + g) * d, d).CopyTo(cache.Values.AsSpan(at + position * d, d));
            }
        }

        if (_workers is not null && rows > 1)
        {
            _attention = (cache, layer, rows);
            _workers.Run(this, Math.Min(2 * Threads, rows));
        }
        else
            for (var row = 0; row < rows; row++) Attend(layer, cache, row, work);
        _gemm.Multiply(work.Attention, rows, heads * d, weights.O, c, work.X, accumulate: true, _workers, Threads);

        for (var row = 0; row < rows; row++)
            RmsNorm(work.X.AsSpan(row * c, c), weights.PostNorm, work.Normed.AsSpan(row * c, c));
        _gemm.Multiply(work.Normed, rows, c, weights.GateUp, 2 * f, work.GateUp, accumulate: false, _workers, Threads); // (rows, 2F)
        for (var row = 0; row < rows; row++)
        {
            // SwiGLU: silu(gate) ⊙ up = gate · σ(gate) ⊙ up
            var gate = work.GateUp.AsSpan(row * 2 * f, f);
            var up = work.GateUp.AsSpan(row * 2 * f + f, f);
            var hidden = work.Hidden.AsSpan(row * f, f);
            TensorPrimitives.Sigmoid(gate, hidden);
            TensorPrimitives.Multiply(hidden, gate, hidden);
            TensorPrimitives.Multiply(hidden, up, hidden);
        }
        _gemm.Multiply(work.Hidden, rows, f, weights.Down, c, work.X, accumulate: true, _workers, Threads);
    }

    /// <summary>Attention for every parts-th row.</summary>
    void IParallelWork.Execute(int part, int parts)
    {
        var (cache, layer, rows) = _attention;
        for (var row = part; row < rows; row += parts) Attend(layer, cache, row, _work!);
    }

    /// <summary>
    /// softmax(q·kⱼ/√D) over the row's own positions 0 .. p (causal by construction: later positions are not in
    /// the cache yet, or belong to later rows), then Σⱼ pⱼ·vⱼ; query head h reads kv head h / (H / Hkv).
    /// </summary>
    private void Attend(int layer, DecodeCache cache, int row, Workspace work)
    {
        var (d, heads, capacity) = (_config.HeadDim, _config.NHeads, cache.Capacity);
        var group = heads / _config.NKvHeads;
        var positions = work.RowPosition[row] + 1;
        var scale = 1f / MathF.Sqrt(d);
        var buffer = capacity <= 2048 ? stackalloc float[capacity] : new float[capacity];
        var scores = buffer[..positions];
        Span<float> q = stackalloc float[d];
        for (var h = 0; h < heads; h++)
        {
            TensorPrimitives.Multiply(work.Qkv.AsSpan(row * _qkvWidth + h * d, d), scale, q);
            var start = cache.Offset(work.RowSlot[row], layer, h / group);
            AttentionScores(q, cache.Keys.AsSpan(start, d * capacity), capacity, positions, buffer);
            StableSoftMax.InPlace(scores);
            WeightedValues(scores, cache.Values.AsSpan(start, positions * d), work.Attention.AsSpan((row * heads + h) * d, d));
        }
    }

    /// <summary>
    /// scores[j] = Σᵢ q[i]·keys[i, j] for j &lt; <paramref name="positions"/>, keys stored (D, stride): a vector of
    /// positions at a time, eight vectors (64 positions) side by side so that eight multiply-add chains are in
    /// flight — with two, each waited on the previous one's latency (~5 cycles) and attention took more of a
    /// batched step than the matrix products. Whole vectors are computed while the stride allows, reading the cache
    /// past the row's positions (scores the caller does not use), so <paramref name="scores"/> holds the stride.
    /// </summary>
    private static void AttentionScores(ReadOnlySpan<float> q, ReadOnlySpan<float> keys, int stride, int positions, Span<float> scores)
    {
        var lanes = Vector<float>.Count;
        var d = q.Length;
        ref var k0 = ref MemoryMarshal.GetReference(keys);
        ref var q0 = ref MemoryMarshal.GetReference(q);
        ref var s0 = ref MemoryMarshal.GetReference(scores);
        var j = 0;
        for (; j < positions && j + 8 * lanes <= stride; j += 8 * lanes)
        {
            Vector<float> a0 = default, a1 = default, a2 = default, a3 = default, a4 = default, a5 = default, a6 = default, a7 = default;
            for (var i = 0; i < d; i++)
            {
                var qi = new Vector<float>(Unsafe.Add(ref q0, i));
                ref var row = ref Unsafe.Add(ref k0, i * stride + j);
                a0 = Vector.FusedMultiplyAdd(Vector.LoadUnsafe(ref row), qi, a0);
                a1 = Vector.FusedMultiplyAdd(Vector.LoadUnsafe(ref row, (nuint)lanes), qi, a1);
                a2 = Vector.FusedMultiplyAdd(Vector.LoadUnsafe(ref row, (nuint)(2 * lanes)), qi, a2);
                a3 = Vector.FusedMultiplyAdd(Vector.LoadUnsafe(ref row, (nuint)(3 * lanes)), qi, a3);
                a4 = Vector.FusedMultiplyAdd(Vector.LoadUnsafe(ref row, (nuint)(4 * lanes)), qi, a4);
                a5 = Vector.FusedMultiplyAdd(Vector.LoadUnsafe(ref row, (nuint)(5 * lanes)), qi, a5);
                a6 = Vector.FusedMultiplyAdd(Vector.LoadUnsafe(ref row, (nuint)(6 * lanes)), qi, a6);
                a7 = Vector.FusedMultiplyAdd(Vector.LoadUnsafe(ref row, (nuint)(7 * lanes)), qi, a7);
            }
            ref var out0 = ref Unsafe.Add(ref s0, j);
            a0.StoreUnsafe(ref out0); a1.StoreUnsafe(ref out0, (nuint)lanes); a2.StoreUnsafe(ref out0, (nuint)(2 * lanes)); a3.StoreUnsafe(ref out0, (nuint)(3 * lanes));
            a4.StoreUnsafe(ref out0, (nuint)(4 * lanes)); a5.StoreUnsafe(ref out0, (nuint)(5 * lanes)); a6.StoreUnsafe(ref out0, (nuint)(6 * lanes)); a7.StoreUnsafe(ref out0, (nuint)(7 * lanes));
        }
        // Near the end of the slot, one vector at a time: four chains over alternate dimensions, summed.
        for (; j < positions && j + lanes <= stride; j += lanes)
        {
            Vector<float> a0 = default, a1 = default, a2 = default, a3 = default;
            var i = 0;
            for (; i + 4 <= d; i += 4)
            {
                ref var row = ref Unsafe.Add(ref k0, i * stride + j);
                a0 = Vector.FusedMultiplyAdd(Vector.LoadUnsafe(ref row), new Vector<float>(Unsafe.Add(ref q0, i)), a0);
                a1 = Vector.FusedMultiplyAdd(Vector.LoadUnsafe(ref row, (nuint)stride), new Vector<float>(Unsafe.Add(ref q0, i + 1)), a1);
                a2 = Vector.FusedMultiplyAdd(Vector.LoadUnsafe(ref row, (nuint)(2 * stride)), new Vector<float>(Unsafe.Add(ref q0, i + 2)), a2);
                a3 = Vector.FusedMultiplyAdd(Vector.LoadUnsafe(ref row, (nuint)(3 * stride)), new Vector<float>(Unsafe.Add(ref q0, i + 3)), a3);
            }
            for (; i < d; i++)
                a0 = Vector.FusedMultiplyAdd(Vector.LoadUnsafe(ref Unsafe.Add(ref k0, i * stride + j)), new Vector<float>(Unsafe.Add(ref q0, i)), a0);
            (a0 + a1 + (a2 + a3)).StoreUnsafe(ref Unsafe.Add(ref s0, j));
        }
        for (; j < positions; j++)
        {
            var sum = 0f;
            for (var i = 0; i < d; i++) sum += q[i] * Unsafe.Add(ref k0, i * stride + j);
            scores[j] = sum;
        }
    }

    /// <summary>
    /// output = Σⱼ p[j]·values[j] for values stored (positions, D). A head's D values sit in two or four
    /// registers; two positions go side by side into two sets of them, summed at the end, so that eight
    /// multiply-add chains are in flight instead of four.
    /// </summary>
    private static void WeightedValues(ReadOnlySpan<float> p, ReadOnlySpan<float> values, Span<float> output)
    {
        var (d, lanes) = (output.Length, Vector<float>.Count);
        if (d != 4 * lanes && d != 2 * lanes)
        {
            output.Clear();
            for (var j = 0; j < p.Length; j++) TensorPrimitives.MultiplyAdd(values.Slice(j * d, d), p[j], output, output);
            return;
        }
        ref var v0 = ref MemoryMarshal.GetReference(values);
        Vector<float> a = default, b = default, c = default, e = default;
        Vector<float> a2 = default, b2 = default, c2 = default, e2 = default;
        var j2 = 0;
        if (d == 4 * lanes)
        {
            for (; j2 + 2 <= p.Length; j2 += 2)
            {
                var pj = new Vector<float>(p[j2]);
                var pk = new Vector<float>(p[j2 + 1]);
                ref var row = ref Unsafe.Add(ref v0, j2 * d);
                a = Vector.FusedMultiplyAdd(Vector.LoadUnsafe(ref row), pj, a);
                b = Vector.FusedMultiplyAdd(Vector.LoadUnsafe(ref row, (nuint)lanes), pj, b);
                c = Vector.FusedMultiplyAdd(Vector.LoadUnsafe(ref row, (nuint)(2 * lanes)), pj, c);
                e = Vector.FusedMultiplyAdd(Vector.LoadUnsafe(ref row, (nuint)(3 * lanes)), pj, e);
                a2 = Vector.FusedMultiplyAdd(Vector.LoadUnsafe(ref row, (nuint)(4 * lanes)), pk, a2);
                b2 = Vector.FusedMultiplyAdd(Vector.LoadUnsafe(ref row, (nuint)(5 * lanes)), pk, b2);
                c2 = Vector.FusedMultiplyAdd(Vector.LoadUnsafe(ref row, (nuint)(6 * lanes)), pk, c2);
                e2 = Vector.FusedMultiplyAdd(Vector.LoadUnsafe(ref row, (nuint)(7 * lanes)), pk, e2);
            }
        }
        else
        {
            // D = 2 vectors: one position fills two registers, so four positions fill eight.
            for (; j2 + 4 <= p.Length; j2 += 4)
            {
                ref var row = ref Unsafe.Add(ref v0, j2 * d);
                var (p0, p1, p2, p3) = (new Vector<float>(p[j2]), new Vector<float>(p[j2 + 1]), new Vector<float>(p[j2 + 2]), new Vector<float>(p[j2 + 3]));
                a = Vector.FusedMultiplyAdd(Vector.LoadUnsafe(ref row), p0, a);
                b = Vector.FusedMultiplyAdd(Vector.LoadUnsafe(ref row, (nuint)lanes), p0, b);
                c = Vector.FusedMultiplyAdd(Vector.LoadUnsafe(ref row, (nuint)(2 * lanes)), p1, c);
                e = Vector.FusedMultiplyAdd(Vector.LoadUnsafe(ref row, (nuint)(3 * lanes)), p1, e);
                a2 = Vector.FusedMultiplyAdd(Vector.LoadUnsafe(ref row, (nuint)(4 * lanes)), p2, a2);
                b2 = Vector.FusedMultiplyAdd(Vector.LoadUnsafe(ref row, (nuint)(5 * lanes)), p2, b2);
                c2 = Vector.FusedMultiplyAdd(Vector.LoadUnsafe(ref row, (nuint)(6 * lanes)), p3, c2);
                e2 = Vector.FusedMultiplyAdd(Vector.LoadUnsafe(ref row, (nuint)(7 * lanes)), p3, e2);
            }
            // Fold the odd-position registers onto the even ones: (a, b) holds the first half, (c, e) the second.
            (a, b, c, e) = (a + c + a2 + c2, b + e + b2 + e2, default, default);
            (a2, b2, c2, e2) = (default, default, default, default);
        }
        for (; j2 < p.Length; j2++)
        {
            var pj = new Vector<float>(p[j2]);
            ref var row = ref Unsafe.Add(ref v0, j2 * d);
            a = Vector.FusedMultiplyAdd(Vector.LoadUnsafe(ref row), pj, a);
            b = Vector.FusedMultiplyAdd(Vector.LoadUnsafe(ref row, (nuint)lanes), pj, b);
            if (d == 4 * lanes)
            {
                c = Vector.FusedMultiplyAdd(Vector.LoadUnsafe(ref row, (nuint)(2 * lanes)), pj, c);
                e = Vector.FusedMultiplyAdd(Vector.LoadUnsafe(ref row, (nuint)(3 * lanes)), pj, e);
            }
        }
        (a + a2).CopyTo(output);
        (b + b2).CopyTo(output[lanes..]);
        if (d == 4 * lanes)
        {
            (c + c2).CopyTo(output[(2 * lanes)..]);
            (e + e2).CopyTo(output[(3 * lanes)..]);
        }
    }

    /// <summary>RoPE in the rotate_half layout of <see cref="RotaryEmbedding"/>: (x₁, x₂) → (x₁·cos − x₂·sin, x₂·cos + x₁·sin).</summary>
    private void Rotate(Span<float> x, int position)
    {
        var half = x.Length / 2;
        var cos = _cos.AsSpan(position * x.Length, x.Length);
        var sin = _sin.AsSpan(position * x.Length, x.Length);
        for (var i = 0; i < half; i++)
        {
            var (x1, x2) = (x[i], x[i + half]);
            x[i] = x1 * cos[i] - x2 * sin[i];
            x[i + half] = x2 * cos[i + half] + x1 * sin[i + half];
        }
    }

    /// <summary>x / √(mean(x²) + ε) · g, as <see cref="Model.RmsNorm"/>.</summary>
    private void RmsNorm(ReadOnlySpan<float> x, float[] gain, Span<float> output)
    {
        var scale = 1f / MathF.Sqrt(TensorPrimitives.SumOfSquares(x) / x.Length + (float)_config.NormEps);
        TensorPrimitives.Multiply(x, scale, output);
        TensorPrimitives.Multiply(output, gain, output);
    }

    /// <summary>The cos/sin tables of <see cref="RotaryEmbedding"/>, computed the same way (in float64, then rounded).</summary>
    private static (float[] Cos, float[] Sin) RotaryTables(GptConfig config)
    {
        var (d, length) = (config.HeadDim, config.MaxSeqLen);
        var (cos, sin) = (new float[length * d], new float[length * d]);
        for (var p = 0; p < length; p++)
            for (var i = 0; i < d / 2; i++)
            {
                var angle = p * Math.Pow(config.RopeTheta, -2.0 * i / d);
                cos[p * d + i] = cos[p * d + i + d / 2] = (float)Math.Cos(angle);
                sin[p * d + i] = sin[p * d + i + d / 2] = (float)Math.Sin(angle);
            }
        return (cos, sin);
    }

    /// <summary>Buffers for up to <paramref name="rows"/> rows and <paramref name="sequences"/> sequences, grown, never shrunk.</summary>
    private Workspace Reserve(int rows, int sequences)
    {
        if (_work is not null && _work.Rows >= rows && _work.Sequences >= sequences) return _work;
        return _work = new Workspace(Math.Max(rows, _work?.Rows ?? 0), Math.Max(sequences, _work?.Sequences ?? 0), _config);
    }

    private sealed class Workspace
    {
        public Workspace(int rows, int sequences, GptConfig config)
        {
            Rows = rows;
            Sequences = sequences;
            var (c, d, f) = (config.DModel, config.HeadDim, config.FfnHidden);
            RowSlot = new int[rows];
            RowPosition = new int[rows];
            X = new float[rows * c];
            Normed = new float[Math.Max(rows, sequences) * c];
            Qkv = new float[rows * (config.NHeads + 2 * config.NKvHeads) * d];
            Attention = new float[rows * config.NHeads * d];
            GateUp = new float[rows * 2 * f];
            Hidden = new float[rows * f];
            Logits = new float[sequences * config.VocabSize];
        }

        public int Rows { get; }
        public int Sequences { get; }
        public int[] RowSlot { get; }
        public int[] RowPosition { get; }
        public float[] X { get; }
        public float[] Normed { get; }
        public float[] Qkv { get; }
        public float[] Attention { get; }
        public float[] GateUp { get; }
        public float[] Hidden { get; }
        public float[] Logits { get; }
    }
}
