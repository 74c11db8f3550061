using LLama;
using LLama.Native;
using MiniLlmPipeline.Stages.Export;
using Xunit.Abstractions;

namespace MiniLlmPipeline.Tests.Export;

/// <summary>
/// The exported GGUF in llama.cpp (through LLamaSharp's bundled CPU build), an engine we did not write: its logits,
/// greedy continuation and tokenization against ours. The K/V cache is f32 so the f32 file is compared with nothing
/// rounded on llama.cpp's side (<see cref="LlamaCppEngine"/>).
/// </summary>
public sealed class LlamaCppTests(ExportFixture fixture, ITestOutputHelper output) : IClassFixture<ExportFixture>
{
    private const int ContinuationTokens = 32;
    private const double ClearMargin = 2.0;

    [Fact]
    public void F32_NextTokenLogits_EqualTorchSharps_WithinOneThousandth()
    {
        var ids = fixture.Tokenizer.Encode(ExportFixture.MixedText);
        var (diff, agree, _, _) = Compare(ExportQuant.F32, ids);
        Assert.True(diff <= 1e-3, $"f32: max |logit difference| {diff:G3} > 1e-3");
        Assert.Equal(ids.Count, agree);
    }

    /// <summary>
    /// A quantized file must keep the top token wherever the choice is clear. llama.cpp also rounds the activations
    /// to 8 bits in q8_0 dot products, so a random model's near-ties (top two within a logit) may flip; where ours leads
    /// by more than <see cref="ClearMargin"/> logits the argmax must agree, and overall at least 80% of positions.
    /// </summary>
    [Theory]
    [InlineData(ExportQuant.F16)]
    [InlineData(ExportQuant.Q8_0)]
    public void QuantizedFile_KeepsTheTopToken(ExportQuant quant)
    {
        var ids = fixture.Tokenizer.Encode(ExportFixture.MixedText);
        var (diff, agree, clear, clearAgree) = Compare(quant, ids);
        Assert.True(clearAgree == clear, $"{quant}: top-1 agrees at {clearAgree} of the {clear} positions where ours leads by > {ClearMargin}");
        Assert.True(agree >= 0.8 * ids.Count, $"{quant}: top-1 agrees at {agree} of {ids.Count} positions (max |diff| {diff:G3})");
    }

    [Fact]
    public void F32_GreedyContinuation_Of32Tokens_IsIdentical()
    {
        var prompt = fixture.Tokenizer.Encode("春眠不觉晓，");
        var ours = ExportFixture.Greedy(fixture.Model, prompt, ContinuationTokens);
        using var engine = Open(ExportQuant.F32);
        var theirs = new List<int>();
        var batch = new LLamaBatch();
        for (var i = 0; i < prompt.Count; i++) batch.Add(prompt[i], i, LLamaSeqId.Zero, i == prompt.Count - 1);
        for (var step = 0; step < ContinuationTokens; step++)
        {
            Assert.Equal(DecodeResult.Ok, engine.Context.Decode(batch));
            var next = ExportFixture.ArgMax(engine.Context.NativeHandle.GetLogitsIth(batch.TokenCount - 1));
            theirs.Add(next);
            batch.Clear();
            batch.Add(next, prompt.Count + step, LLamaSeqId.Zero, true);
        }
        output.WriteLine($"greedy: {string.Join(" ", ours)}");
        Assert.Equal(ours, theirs);
    }

    [Fact]
    public void LlamaCppTokenization_OfMixedText_EqualsOurs()
    {
        using var engine = Open(ExportQuant.F32);
        var tokens = 0;
        foreach (var text in ExportFixture.Texts)
        {
            var ours = fixture.Tokenizer.Encode(text);
            var theirs = engine.Context.Tokenize(text, addBos: false, special: true).Select(t => (int)t).ToList();
            Assert.Equal(ours, theirs);
            tokens += ours.Count;
            // And back: llama.cpp's detokenizer reproduces the text (special tokens included as text).
            var decoder = new StreamingTokenDecoder(engine.Context) { DecodeSpecialTokens = true };
            decoder.AddRange(theirs.Select(t => (LLamaToken)t).ToList());
            Assert.Equal(text, decoder.Read());
        }
        output.WriteLine($"llama.cpp tokenization: {ExportFixture.Texts.Length} texts, {tokens} tokens, all equal");
    }

    private (double MaxDiff, int TopAgree, int Clear, int ClearAgree) Compare(ExportQuant quant, IReadOnlyList<int> ids)
    {
        var ours = ExportFixture.Logits(fixture.Model, ids);
        using var engine = Open(quant);
        var all = engine.Logits(ids);
        double maxDiff = 0;
        var (agree, clear, clearAgree) = (0, 0, 0);
        for (var t = 0; t < ids.Count; t++)
        {
            var theirs = all[t];
            Assert.Equal(ours[t].Length, theirs.Length);
            double rowDiff = 0;
            for (var v = 0; v < theirs.Length; v++) rowDiff = Math.Max(rowDiff, Math.Abs(theirs[v] - ours[t][v]));
            maxDiff = Math.Max(maxDiff, rowDiff);
            var same = ExportFixture.ArgMax(theirs) == ExportFixture.ArgMax(ours[t]);
            if (same) agree++;
            var sorted = ours[t].OrderDescending().ToArray();
            if (sorted[0] - sorted[1] > ClearMargin) { clear++; if (same) clearAgree++; }
        }
        var result = fixture.Gguf[quant];
        output.WriteLine($"{ExportOptions.Name(quant)}: {result.Bytes} bytes, exported in {result.Elapsed.TotalMilliseconds:F0} ms; " +
                         $"max |logit diff| {maxDiff:G3} over {ids.Count} positions × {ours[0].Length}; top-1 agrees {agree}/{ids.Count}, " +
                         $"{clearAgree}/{clear} where ours leads by > {ClearMargin}");
        return (maxDiff, agree, clear, clearAgree);
    }

    private LlamaCppEngine Open(ExportQuant quant) => LlamaCppEngine.Open(fixture.Gguf[quant].Path, fixture.Config.MaxSeqLen);
}
