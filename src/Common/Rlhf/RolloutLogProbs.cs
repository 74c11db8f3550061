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

    /// <summary>
    /// log π(y_t | x, y_&lt;t) of each response token (B, R), under <paramref name="temperature"/>: the output layer fused
    /// with the log-softmax (<see cref="FusedLinearTokenLogProbs"/>), so the (B, R, V) logits never exist whole.
    /// </summary>
    public static Tensor Of(Gpt model, Tensor ids, Tensor attention, Tensor responseIds, int promptLength, double temperature)
    {
        using var scope = NewDisposeScope();
        var hidden = model.HiddenStates(ids, attentionMask: attention).narrow(1, promptLength - 1, responseIds.shape[1]); // (B, R, C)
        return FusedLinearTokenLogProbs.Compute(hidden, model.OutputWeight, responseIds, temperature, model.Config.MatmulDtype)
            .MoveToOuterDisposeScope();
    }

    /// <summary>Of some rows of a rollout batch, as narrow as they allow (B', R').</summary>
    public static Tensor Of(Gpt model, RolloutRows rows, double temperature) =>
        Of(model, rows.Ids, rows.AttentionMask, rows.ResponseIds, rows.PromptLength, temperature);

    /// <summary>
    /// Of the whole rollout batch (B, R), one forward pass per group of rows in <paramref name="groups"/> (which cover
    /// every row once): rows of similar length grouped together cost what they are long, not what the longest answer is.
    /// Positions past a row's answer are to be masked out, as with the whole batch.
    /// </summary>
    public static Tensor Of(Gpt model, RolloutBatch batch, IEnumerable<IReadOnlyList<int>> groups, double temperature)
    {
        using var scope = NewDisposeScope();
        var result = zeros(batch.Rows, batch.ResponseLength, device: batch.Ids.device);
        foreach (var group in groups)
        {
            var rows = batch.Select(group);
            var logProbs = Of(model, rows, temperature);
            result.index_copy_(0, rows.Index, nn.functional.pad(logProbs, [0, batch.ResponseLength - rows.ResponseLength]));
        }
        return result.MoveToOuterDisposeScope();
    }

    /// <summary>Of the whole rollout batch.</summary>
    public static Tensor Of(Gpt model, RolloutBatch batch, double temperature) =>
        Of(model, batch.Ids, batch.AttentionMask, batch.ResponseIds, batch.PromptLength, temperature);
}
