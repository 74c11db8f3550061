using MiniLlmPipeline.Model;

namespace MiniLlmPipeline.Training;

/// <summary>An (M×K)·(K×N) product whose throughput <see cref="MatmulPeak"/> can measure.</summary>
public sealed record MatmulShape(string Name, int M, int K, int N)
{
    /// <summary>
    /// The weight matmuls of one training step of <paramref name="config"/> over <paramref name="tokens"/>
    /// (B·T) rows: attention q/o, k/v (grouped-query, narrower), the SwiGLU up/gate and down projections,
    /// and the tied output head.
    /// </summary>
    public static IEnumerable<MatmulShape> ForModel(string prefix, GptConfig config, int tokens)
    {
        var d = config.DModel;
        yield return new($"{prefix} q/o {tokens}×{d}×{d}", tokens, d, d);
        yield return new($"{prefix} k/v {tokens}×{d}×{config.NKvHeads * config.HeadDim}", tokens, d, config.NKvHeads * config.HeadDim);
        yield return new($"{prefix} up {tokens}×{d}×{config.FfnHidden}", tokens, d, config.FfnHidden);
        yield return new($"{prefix} down {tokens}×{config.FfnHidden}×{d}", tokens, config.FfnHidden, d);
        yield return new($"{prefix} head {tokens}×{d}×{config.VocabSize}", tokens, d, config.VocabSize);
    }
}
