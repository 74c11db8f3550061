namespace MiniLlmPipeline.Data;

/// <summary>
/// Derives a per-item RNG seed from the run seed and an index (step, micro-batch, example), so every
/// random draw is a pure function of where the run is: the basis of exact resume. .NET's HashCode is
/// randomised per process and cannot be used for this.
/// </summary>
public static class SeedMix
{
    /// <summary>A non-negative seed mixed from (seed, index) with SplitMix64's finaliser.</summary>
    public static int Of(long seed, long index)
    {
        var x = Mix(unchecked((ulong)seed * 0x9E3779B97F4A7C15UL + (ulong)index));
        return (int)(x & 0x7FFFFFFF);
    }

    /// <summary>SplitMix64's finaliser (Steele et al. 2014): a bijection on 64 bits that spreads every input bit over the output.</summary>
    internal static ulong Mix(ulong z)
    {
        z = unchecked((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL);
        z = unchecked((z ^ (z >> 27)) * 0x94D049BB133111EBUL);
        return z ^ (z >> 31);
    }
}
