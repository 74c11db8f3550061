using MiniLlmPipeline.Model;
using static TorchSharp.torch;

namespace MiniLlmPipeline.Tests.Model;

/// <summary>The explicit attention path that explain records matches the fused kernel and yields proper causal weights.</summary>
public class AttentionRecordingTests
{
    [Fact]
    public void RecordedPath_GivesTheFusedPathsHiddenStates_AndCausalRowsThatSumToOne()
    {
        using var scope = NewDisposeScope();
        using var model = TinyModels.Create();
        var ids = TinyModels.RandomIds(2, 9);
        using var noGrad = no_grad();
        var fused = model.HiddenStates(ids);
        using var recording = AttentionRecording.Run(model, ids);

        Assert.True(recording.Hidden.allclose(fused, rtol: 1e-5, atol: 1e-5), "recorded hidden states differ from the fused path's");
        Assert.Equal(TinyModels.Config.NLayers, recording.Weights.Count);
        foreach (var weights in recording.Weights)
        {
            Assert.Equal(new long[] { 2, TinyModels.Config.NHeads, 9, 9 }, weights.shape);
            Assert.True(weights.sum(-1).allclose(ones(2, TinyModels.Config.NHeads, 9), atol: 1e-6), "a row does not sum to 1");
            Assert.Equal(0f, weights.triu(1).abs().max().item<float>());
            Assert.True((weights.tril() > 0).sum().item<long>() == 2 * TinyModels.Config.NHeads * 9 * 10 / 2, "a causal weight is zero");
        }
        // The model is back on the fused path afterwards.
        Assert.True(model.HiddenStates(ids).eq(fused).all().item<bool>());
    }
}
