using TorchSharp;
using static TorchSharp.torch;

namespace MiniLlmPipeline.Model;

/// <summary>
/// One forward pass of a model with every layer's attention weights kept: the fused kernel that longer contexts use
/// returns none, so for this pass every layer writes softmax(QKᵀ/√d) out (fp32), whatever the length. For explaining one short
/// sequence: it costs a (T × T) matrix per head, and the model must not be serving other calls meanwhile.
/// </summary>
public sealed class AttentionRecording : IDisposable
{
    private AttentionRecording(Tensor hidden, IReadOnlyList<Tensor> weights) => (Hidden, Weights) = (hidden, weights);

    /// <summary>The final-norm hidden states (B, T, C), as <see cref="Gpt.HiddenStates"/> returns them.</summary>
    public Tensor Hidden { get; }

    /// <summary>Per layer, the attention weights (B, H, T, T): row i is how query i spreads over keys 0..i.</summary>
    public IReadOnlyList<Tensor> Weights { get; }

    /// <summary>ids (B, T) without padding or cache, so every query sees exactly the keys at or before it.</summary>
    public static AttentionRecording Run(Gpt model, Tensor ids)
    {
        var attentions = model.Backbone.Layers.Select(l => l.Attention).ToList();
        var recorded = attentions.Select(_ => new List<Tensor>()).ToList();
        try
        {
            for (var i = 0; i < attentions.Count; i++) attentions[i].Recorded = recorded[i];
            using var noGrad = torch.no_grad();
            var hidden = model.HiddenStates(ids).DetachFromDisposeScope();
            return new AttentionRecording(hidden, recorded.Select(r => r.Single()).ToList());
        }
        finally
        {
            foreach (var attention in attentions) attention.Recorded = null;
        }
    }

    public void Dispose()
    {
        Hidden.Dispose();
        foreach (var w in Weights) w.Dispose();
    }
}
