using LLama;
using LLama.Common;
using LLama.Native;

namespace MiniLlmPipeline.Tests.Export;

/// <summary>
/// A GGUF file loaded by llama.cpp (LLamaSharp's CPU build) with one context: f32 K/V cache and flash attention off,
/// since on the CPU flash attention rounds q·k to f16 (measured: f32 file, max |logit diff| 0.018 with it, 1e-5 without).
/// </summary>
public sealed class LlamaCppEngine : IDisposable
{
    private readonly LLamaWeights _weights;

    private LlamaCppEngine(LLamaWeights weights, LLamaContext context)
    {
        _weights = weights;
        Context = context;
    }

    public LLamaContext Context { get; }

    public static LlamaCppEngine Open(string ggufPath, int contextSize)
    {
        var parameters = new ModelParams(ggufPath)
        {
            ContextSize = (uint)contextSize, BatchSize = (uint)contextSize, UBatchSize = (uint)contextSize,
            GpuLayerCount = 0, FlashAttention = false, Threads = 1, BatchThreads = 1,
            TypeK = GGMLType.GGML_TYPE_F32, TypeV = GGMLType.GGML_TYPE_F32,
        };
        var weights = LLamaWeights.LoadFromFile(parameters);
        return new LlamaCppEngine(weights, weights.CreateContext(parameters));
    }

    /// <summary>llama.cpp's next-token logits at every position of <paramref name="ids"/>, (T, V).</summary>
    public float[][] Logits(IReadOnlyList<int> ids)
    {
        var batch = new LLamaBatch();
        for (var i = 0; i < ids.Count; i++) batch.Add(ids[i], i, LLamaSeqId.Zero, true);
        if (Context.Decode(batch) != DecodeResult.Ok) throw new InvalidOperationException("llama.cpp could not decode the batch");
        return Enumerable.Range(0, ids.Count).Select(t => Context.NativeHandle.GetLogitsIth(t).ToArray()).ToArray();
    }

    public static double MaxAbsDiff(float[][] a, float[][] b) =>
        a.Zip(b).Max(rows => rows.First.Zip(rows.Second).Max(p => (double)Math.Abs(p.First - p.Second)));

    public void Dispose()
    {
        Context.Dispose();
        _weights.Dispose();
    }
}
