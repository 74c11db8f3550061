using MiniLlmPipeline.Generation;
using MiniLlmPipeline.Model;
using MiniLlmPipeline.Tests.Model;
using TorchSharp;
using static TorchSharp.torch;

namespace MiniLlmPipeline.Tests.Generation;

/// <summary>The C# decoder against the torch model it snapshots: the same logits, by prefill, by steps, in ragged batches.</summary>
public class CpuDecoderTests
{
    // Widths that are not multiples of the GEMM panel (tails), untied output, grouped-query attention.
    private static readonly GptConfig Odd = new(
        VocabSize: 37, DModel: 24, NLayers: 2, NHeads: 4, NKvHeads: 2, FfnHidden: 44, MaxSeqLen: 24, RopeTheta: 500,
        TieWordEmbeddings: false);

    /// <summary>A model whose weights are far from the near-zero init, so a wrong term shows in the logits.</summary>
    private static Gpt Scrambled(GptConfig config, int seed = 3)
    {
        var model = TinyModels.Create(seed, config);
        using var noGrad = torch.no_grad();
        foreach (var (name, p) in model.named_parameters())
            if (name.EndsWith("norm.weight", StringComparison.Ordinal)) p.uniform_(0.5, 1.5);
            else p.normal_(0, 0.3);
        return model;
    }

    private static float[] TorchLogits(Gpt model, int[] ids) // logits (T, V) of one sequence, flattened
    {
        using var scope = torch.NewDisposeScope();
        using var noGrad = torch.no_grad();
        return model.forward(torch.tensor(ids.Select(i => (long)i).ToArray(), [1, ids.Length])).squeeze(0).data<float>().ToArray();
    }

    private static void AssertClose(ReadOnlySpan<float> expected, ReadOnlySpan<float> actual)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (var i = 0; i < expected.Length; i++)
            Assert.True(Math.Abs(expected[i] - actual[i]) <= 1e-4 + 1e-4 * Math.Abs(expected[i]), $"logit {i}: torch {expected[i]}, C# {actual[i]}");
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Prefill_ThenSteps_GiveTheTorchModelsLogitsAtEveryPosition(bool tiny)
    {
        using var model = Scrambled(tiny ? TinyModels.Config : Odd);
        var v = model.Config.VocabSize;
        int[] ids = [3, 17, 5, 5, 30, 1, 8, 22, 0, 11];
        var expected = TorchLogits(model, ids);
        var decoder = CpuDecoder.FromModel(model, threads: 2);
        var cache = decoder.NewCache(1);
        var logits = new float[v];

        decoder.Forward(cache, [0], ids.AsSpan(0, 4), [4], logits); // the prompt, then one token at a time
        AssertClose(expected.AsSpan(3 * v, v), logits);
        for (var t = 4; t < ids.Length; t++)
        {
            decoder.Forward(cache, [0], ids.AsSpan(t, 1), [1], logits);
            AssertClose(expected.AsSpan(t * v, v), logits);
        }
        Assert.Equal(ids.Length, cache.Length(0));
    }

    [Fact]
    public void AttentionScoresBeyondExpsRange_GiveTheTorchModelsLogits()
    {
        // q and k ×10 make the scores ×100, far past exp's float32 range (~88): the softmax must subtract the maximum.
        using var model = Scrambled(Odd);
        using (torch.no_grad())
            foreach (var (name, p) in model.named_parameters())
                if (name.EndsWith("q_proj.weight", StringComparison.Ordinal) || name.EndsWith("k_proj.weight", StringComparison.Ordinal)) p.mul_(10);
        int[] ids = [3, 17, 5, 5, 30, 1, 8, 22];
        var expected = TorchLogits(model, ids);
        var decoder = CpuDecoder.FromModel(model, threads: 1);
        var logits = new float[model.Config.VocabSize];
        decoder.Forward(decoder.NewCache(1), [0], ids, [ids.Length], logits);
        Assert.All(logits, l => Assert.True(float.IsFinite(l)));
        AssertClose(expected.AsSpan((ids.Length - 1) * logits.Length, logits.Length), logits);
    }

    [Fact]
    public void AFullContext_NotAMultipleOfTheVectorWidth_GivesTheTorchModelsLogitsAtEveryPosition()
    {
        // 75 positions: attention's 64-position blocks, then single vectors, then the slot's last positions one by one.
        using var model = Scrambled(Odd with { MaxSeqLen = 75 });
        var v = model.Config.VocabSize;
        var ids = Enumerable.Range(0, 75).Select(i => (i * 7 + 3) % v).ToArray();
        var expected = TorchLogits(model, ids);
        var decoder = CpuDecoder.FromModel(model, threads: 1);
        var cache = decoder.NewCache(1);
        var logits = new float[v];
        decoder.Forward(cache, [0], ids.AsSpan(0, 1), [1], logits);
        for (var t = 1; t < ids.Length; t++)
        {
            decoder.Forward(cache, [0], ids.AsSpan(t, 1), [1], logits);
            AssertClose(expected.AsSpan(t * v, v), logits);
        }
    }

    [Fact]
    public void RaggedBatch_GivesEachSequenceItsOwnLogits()
    {
        using var model = Scrambled(Odd);
        var v = model.Config.VocabSize;
        int[][] sequences = [[1, 2, 3, 4, 5, 6, 7], [9], [30, 31, 2]];
        var decoder = CpuDecoder.FromModel(model, threads: 1);
        var cache = decoder.NewCache(4);
        var logits = new float[3 * v];
        // Slots out of order, prompts of different lengths in one call: no padding, no mask.
        decoder.Forward(cache, [2, 0, 3], sequences.SelectMany(s => s).ToArray(), sequences.Select(s => s.Length).ToArray(), logits);
        for (var s = 0; s < sequences.Length; s++)
            AssertClose(TorchLogits(model, sequences[s]).AsSpan((sequences[s].Length - 1) * v, v), logits.AsSpan(s * v, v));

        // A step for two of them, then a cleared slot reused by a new sequence beside a continuing one.
        decoder.Forward(cache, [2, 3], [8, 9], [1, 1], logits);
        AssertClose(TorchLogits(model, [.. sequences[0], 8]).AsSpan(sequences[0].Length * v, v), logits.AsSpan(0, v));
        AssertClose(TorchLogits(model, [.. sequences[2], 9]).AsSpan(sequences[2].Length * v, v), logits.AsSpan(v, v));
        cache.Clear(0);
        decoder.Forward(cache, [0, 2], [4, 4, 10], [2, 1], logits);
        AssertClose(TorchLogits(model, [4, 4]).AsSpan(v, v), logits.AsSpan(0, v));
        AssertClose(TorchLogits(model, [.. sequences[0], 8, 10]).AsSpan((sequences[0].Length + 1) * v, v), logits.AsSpan(v, v));
    }

    [Fact]
    public void Snapshot_IsNotChangedByLaterTraining()
    {
        using var model = Scrambled(TinyModels.Config);
        var v = model.Config.VocabSize;
        var before = TorchLogits(model, [4, 5]);
        var decoder = CpuDecoder.FromModel(model, threads: 1);
        using (torch.no_grad())
            foreach (var p in model.parameters()) p.add_(0.1);
        var logits = new float[v];
        decoder.Forward(decoder.NewCache(1), [0], [4, 5], [2], logits);
        AssertClose(before.AsSpan(v, v), logits);
    }

    [Fact]
    public void PastTheContext_IsRefused()
    {
        using var model = TinyModels.Create();
        var decoder = CpuDecoder.FromModel(model, threads: 1);
        var cache = decoder.NewCache(1);
        var logits = new float[model.Config.VocabSize];
        var full = new int[model.Config.MaxSeqLen];
        decoder.Forward(cache, [0], full, [full.Length], logits);
        Assert.Throws<InvalidOperationException>(() => decoder.Forward(cache, [0], [1], [1], logits));
        Assert.Throws<ArgumentOutOfRangeException>(() => decoder.Forward(decoder.NewCache(1), [0], [model.Config.VocabSize], [1], logits));
    }

    [Fact]
    public void LiveLoraAdapters_AreDecodedMerged_AndNotWhenSwitchedOff()
    {
        using var model = Scrambled(TinyModels.Config);
        LoraAdapters.Attach(model, new LoraConfig { Rank = 2, Alpha = 4 }, seed: 3);
        using (torch.no_grad())
            foreach (var (_, layer) in LoraAdapters.AdaptedLayers(model)) layer.Adapter!.B.normal_(0, 0.3);
        var v = model.Config.VocabSize;
        int[] ids = [4, 9, 1];
        var logits = new float[v];
        var merged = CpuDecoder.FromModel(model, threads: 1);
        merged.Forward(merged.NewCache(1), [0], ids, [3], logits);
        AssertClose(TorchLogits(model, ids).AsSpan(2 * v, v), logits);
        using (LoraAdapters.Disable(model))
        {
            var decoder = CpuDecoder.FromModel(model, threads: 1);
            decoder.Forward(decoder.NewCache(1), [0], ids, [3], logits);
            AssertClose(TorchLogits(model, ids).AsSpan(2 * v, v), logits);
        }
    }
}
