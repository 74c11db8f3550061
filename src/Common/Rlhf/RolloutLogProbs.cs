using MiniLlmPipeline.Alignment;
using MiniLlmPipeline.Model;
using static TorchSharp.torch;

namespace MiniLlmPipeline.Rlhf;

/// <summary>
/// What a policy (or its frozen reference) says about a rollout's response tokens, under the sampling temperature as TRL
/// computes it: the one place an RL stage's old, new and reference log-probs come from, so their ratios compare like with like.
/// </summary>
public static class RolloutLogProbs
{
    /// <summary>The logits that predict each response token (B, R, V), divided by <paramref name="temperature"/>.</summary>
    public static Tensor Logits(Gpt model, Tensor ids, Tensor attention, int promptLength, int responseLength, double temperature)
    {
        var hidden = model.HiddenStates(ids, attentionMask: attention).narrow(1, promptLength - 1, responseLength); // (B, R, C)
        return model.Logits(hidden) / temperature;
    }

    /// <summary>log π(y_t | x, y_&lt;t) of each response token (B, R), under <paramref name="temperature"/>.</summary>
    public static Tensor Of(Gpt model, Tensor ids, Tensor attention, Tensor responseIds, int promptLength, double temperature)
    {
        using var scope = NewDisposeScope();
        return TokenLogProbs.Of(Logits(model, ids, attention, promptLength, (int)responseIds.shape[1], temperature), responseIds)
            .MoveToOuterDisposeScope();
    }

    /// <summary>Of the whole rollout batch.</summary>
    public static Tensor Of(Gpt model, RolloutBatch batch, double temperature) =>
        Of(model, batch.Ids, batch.AttentionMask, batch.ResponseIds, batch.PromptLength, temperature);
}
