using MiniLlmPipeline.Model;
using TorchSharp;
using static TorchSharp.torch;

namespace MiniLlmPipeline.Tests.Model;

/// <summary>
/// The fused fp32 CPU kernels against the tensor operations they replace: values and gradients, with row widths that
/// are and are not multiples of the 8-float vectors (the scalar tails), and the per-sequence rotary tables of
/// left-padded batches. On two torch threads, so that the rows are split between them (the norm's gain gradient is
/// summed from two partial sums) and the work runs on libtorch's OpenMP threads (<see cref="TorchThreads"/>).
/// </summary>
[Collection(ThreadCountChangingTests.Name)]
public sealed class FusedKernelTests : IDisposable
{
    private readonly int testThreads = get_num_threads();

    public FusedKernelTests() => set_num_threads(2);

    public void Dispose() => set_num_threads(testThreads);

    [Theory]
    [InlineData(20)]
    [InlineData(64)]
    public void RmsNorm_MatchesTheComposite(int width)
    {
        using var scope = NewDisposeScope();
        manual_seed(3);
        var x0 = randn(3, 5, width) * 3;
        var w0 = rand(width) + 0.5;
        var upstream = randn(3, 5, width);
        var (fused, fusedGrads) = Run([x0, w0], upstream, t => FusedRmsNorm.Apply(t[0], t[1], 1e-5));
        var (reference, referenceGrads) = Run([x0, w0], upstream,
            t => t[0] * t[0].pow(2).mean([-1], keepdim: true).add(1e-5).rsqrt() * t[1]);
        AssertClose(reference, fused, "y");
        AssertClose(referenceGrads[0], fusedGrads[0], "∂x");
        AssertClose(referenceGrads[1], fusedGrads[1], "∂g");
    }

    [Fact]
    public void RmsNorm_WithAFrozenGain_GivesOnlyTheInputGradient()
    {
        using var scope = NewDisposeScope();
        var x = randn(4, 16).requires_grad_();
        var gain = ones(16);
        FusedRmsNorm.Apply(x, gain, 1e-5).sum().backward();
        Assert.NotNull(x.grad);
        Assert.Null(gain.grad);
    }

    [Theory]
    [InlineData(13)]
    [InlineData(32)]
    public void SwiGlu_MatchesTheComposite(int width)
    {
        using var scope = NewDisposeScope();
        manual_seed(5);
        var gateUp0 = randn(2, 6, 2 * width) * 2;
        var upstream = randn(2, 6, width);
        var (fused, fusedGrads) = Run([gateUp0], upstream, t => FusedSwiGlu.Apply(t[0]));
        var (reference, referenceGrads) = Run([gateUp0], upstream, t =>
        {
            var halves = t[0].chunk(2, -1);
            return nn.functional.silu(halves[0]) * halves[1];
        });
        AssertClose(reference, fused, "h");
        AssertClose(referenceGrads[0], fusedGrads[0], "∂[g | u]");
    }

    [Theory]
    [InlineData(8, false)]
    [InlineData(32, false)]
    [InlineData(32, true)]
    public void RotaryQkv_MatchesTheComposite(int headDim, bool perSequencePositions)
    {
        using var scope = NewDisposeScope();
        manual_seed(7);
        const int batch = 2, length = 5, heads = 4, kvHeads = 2;
        using var rotary = new RotaryEmbedding(headDim, 16, 10000);
        // Left padding: the second sequence starts two positions late, so its rows take other table entries.
        var (cos, sin) = perSequencePositions
            ? rotary.ForPositions(stack([arange(length), (arange(length) - 2).clamp_min(0)]))
            : rotary.ForRange(3, length);
        var qkv0 = randn(batch, length, heads + 2 * kvHeads, headDim);
        var upstream = new[] { randn(batch, heads, length, headDim), randn(batch, kvHeads, length, headDim), randn(batch, kvHeads, length, headDim) };
        Assert.True(FusedRotaryQkv.Accepts(qkv0, cos, sin));

        var qkv = qkv0.clone().requires_grad_();
        var (q, k, v) = FusedRotaryQkv.Apply(qkv, cos, sin, heads, kvHeads);
        autograd.backward([q, k, v], upstream);
        var reference = qkv0.clone().requires_grad_();
        var parts = reference.split([heads + kvHeads, kvHeads], 2);
        var qk = RotaryEmbedding.Apply(parts[0], cos, sin).split([heads, kvHeads], 2);
        var expected = new[] { qk[0].transpose(1, 2), qk[1].transpose(1, 2), parts[1].transpose(1, 2) };
        autograd.backward(expected, upstream);

        foreach (var (name, actual, wanted) in new[] { ("q", q, expected[0]), ("k", k, expected[1]), ("v", v, expected[2]) })
        {
            Assert.True(actual.is_contiguous(), $"{name} is not contiguous");
            AssertClose(wanted.detach(), actual.detach(), name);
        }
        AssertClose(reference.grad!, qkv.grad!, "∂qkv");
    }

    [Theory]
    [InlineData(4, 8, 2, 2)]      // the shortest context, one query head per key/value head
    [InlineData(12, 8, 4, 2)]     // keys padded from 12 to 16; only 8-wide column blocks
    [InlineData(36, 40, 6, 2)]    // three query heads a key/value head; a head of one 32-wide and one 8-wide column block
    [InlineData(128, 32, 4, 2)]   // the default model's shape
    [InlineData(256, 64, 4, 2)]   // the bench's large model's, the longest context CausalSelfAttention sends it (FusedMaxKeys)
    public void CausalAttention_MatchesTheComposite(int length, int headDim, int heads, int kvHeads)
    {
        using var scope = NewDisposeScope();
        manual_seed(11);
        const int batch = 2;
        var inputs0 = new[] { randn(batch, heads, length, headDim), randn(batch, kvHeads, length, headDim), randn(batch, kvHeads, length, headDim) };
        inputs0[0] *= 2; // sharper softmaxes than unit-variance scores
        var upstream = randn(batch, length, heads * headDim);
        Assert.True(FusedCausalAttention.Accepts(inputs0[0], inputs0[1], inputs0[2]));

        var fusedInputs = inputs0.Select(t => t.clone().requires_grad_()).ToArray();
        var fused = FusedCausalAttention.Apply(fusedInputs[0], fusedInputs[1], fusedInputs[2]);
        fused.backward([upstream]);
        var referenceInputs = inputs0.Select(t => t.clone().requires_grad_()).ToArray();
        // softmax(QKᵀ/√d with −∞ above the diagonal)·V, each key/value head repeated for its query heads.
        var keys = referenceInputs[1].repeat_interleave(heads / kvHeads, dim: 1);
        var values = referenceInputs[2].repeat_interleave(heads / kvHeads, dim: 1);
        var scores = referenceInputs[0].matmul(keys.transpose(2, 3)) / Math.Sqrt(headDim);
        var future = ones(length, length, dtype: ScalarType.Bool).triu(1);
        var reference = scores.masked_fill(future, double.NegativeInfinity).softmax(-1).matmul(values)
            .transpose(1, 2).reshape(batch, length, heads * headDim);
        reference.backward([upstream]);

        AssertClose(reference.detach(), fused.detach(), "y");
        foreach (var (name, i) in new[] { ("∂q", 0), ("∂k", 1), ("∂v", 2) })
            AssertClose(referenceInputs[i].grad!, fusedInputs[i].grad!, name);
        using (no_grad()) AssertClose(reference.detach(), FusedCausalAttention.Apply(inputs0[0], inputs0[1], inputs0[2]), "y without autograd");
    }

    [Fact]
    public void TorchThreads_RunEveryPartOnce_AndPassOnAFailure()
    {
        var seen = new int[7];
        RowKernels.For(7, (start, end, _) => { for (var row = start; row < end; row++) Interlocked.Increment(ref seen[row]); });
        Assert.All(seen, count => Assert.Equal(1, count));
        var error = Assert.Throws<InvalidOperationException>(() => RowKernels.For(4, (start, _, _) =>
        {
            if (start > 0) throw new InvalidOperationException($"rows from {start}");
        }));
        Assert.Equal("rows from 2", error.Message);
    }

    private static (Tensor Output, Tensor[] Gradients) Run(Tensor[] inputs0, Tensor upstream, Func<Tensor[], Tensor> f)
    {
        var inputs = inputs0.Select(t => t.clone().requires_grad_()).ToArray();
        var output = f(inputs);
        output.backward([upstream]);
        return (output.detach(), inputs.Select(t => t.grad!).ToArray());
    }

    private static void AssertClose(Tensor expected, Tensor actual, string name)
    {
        var scale = expected.abs().max().item<float>();
        var gap = (expected - actual).abs().max().item<float>();
        Assert.True(gap <= 1e-5 * Math.Max(1, scale), $"{name} differs by {gap} (largest value {scale})");
    }
}
