using MiniLlmPipeline.Generation;

namespace MiniLlmPipeline.Tests.Generation;

/// <summary>The decoder's packed matrix product against the schoolbook sum, at shapes around the panel and block sizes.</summary>
public class GemmTests
{
    [Theory]
    [InlineData(1, 5, 1)]
    [InlineData(2, 7, 9)]
    [InlineData(3, 16, 32)]
    [InlineData(4, 33, 64)]
    [InlineData(5, 64, 100)]
    [InlineData(7, 1, 129)]
    [InlineData(16, 48, 200)]
    public void Multiply_MatchesTheSchoolbookProduct_WithAndWithoutAccumulating(int m, int k, int n)
    {
        var random = new Random(m * 1000 + k * 10 + n);
        float[] Values(int count) => Enumerable.Range(0, count).Select(_ => (float)(random.NextDouble() * 2 - 1)).ToArray();
        var (x, w, start) = (Values(m * k), Values(k * n), Values(m * n));
        var packed = Gemm.Pack(w, k, n);
        foreach (var threads in new[] { 1, 2 })
            foreach (var accumulate in new[] { false, true })
            {
                var y = (float[])start.Clone();
                new Gemm().Multiply(x, m, k, packed, n, y, accumulate, threads > 1 ? SpinningWorkers.Shared(threads) : null, threads);
                for (var r = 0; r < m; r++)
                    for (var c = 0; c < n; c++)
                    {
                        var expected = accumulate ? start[r * n + c] : 0.0;
                        for (var i = 0; i < k; i++) expected += (double)x[r * k + i] * w[i * n + c];
                        Assert.True(Math.Abs(expected - y[r * n + c]) < 1e-4, $"y[{r}, {c}] = {y[r * n + c]}, expected {expected} ({threads} threads, accumulate {accumulate})");
                    }
            }
    }

    [Fact]
    public void Pack_PutsEveryElementInItsOwnPlace()
    {
        const int k = 5, n = 3 * 64 + 7; // full panels on either vector width, then a tail
        var packed = Gemm.Pack(Enumerable.Range(0, k * n).Select(i => (float)i).ToArray(), k, n);
        Assert.Equal(Enumerable.Range(0, k * n).Select(i => (float)i), packed.Order());
        for (var i = 0; i < k; i++)
            for (var j = 0; j < n; j++)
                Assert.Equal(i * n + j, packed[Gemm.PackedIndex(i, j, k, n)]);
    }
}
