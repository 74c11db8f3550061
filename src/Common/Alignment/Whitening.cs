using static TorchSharp.torch;

namespace MiniLlmPipeline.Alignment;

/// <summary>Normalises advantages to zero mean and unit variance over the real tokens only (TRL's <c>masked_whiten</c>).</summary>
public static class Whitening
{
    /// <summary>
    /// (x − μ) / √(σ² + 1e-8) with μ and the unbiased σ² taken over mask = 1. Padding positions are set to 0 so they
    /// stay inert downstream. Throws when fewer than two elements are selected.
    /// </summary>
    public static Tensor Masked(Tensor values, Tensor mask)
    {
        using var scope = NewDisposeScope();
        var m = mask.to_type(values.dtype);
        var mean = MaskedStatistics.Mean(values, m);
        var variance = MaskedStatistics.Variance(values, m, unbiased: true);
        var whitened = (values - mean) * (variance + 1e-8).rsqrt();
        return (whitened * m).MoveToOuterDisposeScope();
    }
}
