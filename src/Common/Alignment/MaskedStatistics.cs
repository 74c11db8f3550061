using static TorchSharp.torch;

namespace MiniLlmPipeline.Alignment;

/// <summary>
/// Means and variances over the positions a mask selects (1 = real token, 0 = padding), so padding never
/// dilutes a statistic. Same semantics as TRL's <c>masked_mean</c> / <c>masked_var</c>.
/// </summary>
public static class MaskedStatistics
{
    /// <summary>Σ m·x / Σ m over all elements (a scalar); 0 when the mask selects nothing.</summary>
    public static Tensor Mean(Tensor values, Tensor mask)
    {
        var m = mask.to_type(values.dtype);
        return (values * m).sum() / m.sum().clamp_min(1.0);
    }

    /// <summary>Σ_t m·x / Σ_t m along <paramref name="dim"/>; rows the mask empties give 0.</summary>
    public static Tensor Mean(Tensor values, Tensor mask, long dim)
    {
        var m = mask.to_type(values.dtype);
        return (values * m).sum(dim) / m.sum(dim).clamp_min(1.0);
    }

    /// <summary>
    /// Masked variance of all selected elements; <paramref name="unbiased"/> applies Bessel's correction n/(n−1)
    /// as TRL does. Throws when the mask selects fewer than two elements (the unbiased variance is undefined).
    /// </summary>
    public static Tensor Variance(Tensor values, Tensor mask, bool unbiased = true)
    {
        var m = mask.to_type(values.dtype);
        var count = m.sum().item<float>();
        if (unbiased && count < 2)
            throw new ArgumentException($"An unbiased masked variance needs at least 2 selected elements, the mask selects {count}.");
        var centered = values - Mean(values, m);
        var variance = Mean(centered * centered, m);
        return unbiased ? variance * (count / (count - 1)) : variance;
    }
}
