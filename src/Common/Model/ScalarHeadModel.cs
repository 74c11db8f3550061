using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace MiniLlmPipeline.Model;

/// <summary>
/// A <see cref="Gpt"/> trunk with a linear scalar head on every position's final hidden state: the
/// reward model reads the score at the last real token, PPO's value model at every response token.
/// Parameters are named as Hugging Face <c>LlamaForSequenceClassification</c> (<c>model.*</c>,
/// <c>score.weight</c>).
/// </summary>
public sealed class ScalarHeadModel : nn.Module
{
    private readonly Linear score;

    public ScalarHeadModel(Gpt trunk) : base(nameof(ScalarHeadModel))
    {
        Trunk = trunk;
        score = nn.Linear(trunk.Config.DModel, 1, hasBias: false);
        // Registered by hand so the trunk's parameters appear as "model.*" (not "trunk.model.*").
        register_module("model", trunk.Backbone);
        register_module("score", score);
        // std 1/√(d+1) keeps initial scores O(1) (Ziegler et al. 2019, lm-human-preferences reward head).
        using var noGrad = torch.no_grad();
        nn.init.normal_(score.weight!, 0, 1 / Math.Sqrt(trunk.Config.DModel + 1));
    }

    public Gpt Trunk { get; }

    public GptConfig Config => Trunk.Config;

    /// <summary>ids (B, T) → one scalar per position (B, T); see <see cref="Gpt.HiddenStates"/> for the mask.</summary>
    public Tensor Scores(Tensor ids, Tensor? attentionMask = null)
    {
        using var scope = torch.NewDisposeScope();
        var hidden = Trunk.HiddenStates(ids, attentionMask: attentionMask); // (B, T, C)
        return score.forward(hidden).squeeze(-1).MoveToOuterDisposeScope(); // (B, T)
    }
}
