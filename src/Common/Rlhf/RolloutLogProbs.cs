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
    /// <summary>The final hidden states that predict each response token (B, R, C): position P − 1 predicts the first.</summary>
    public static Tensor ResponseHidden(Gpt model, Tensor ids, Tensor attention, int promptLength, int responseLength) =>
        model.HiddenStates(ids, attentionMask: attention).narrow(1, promptLength - 1, responseLength);

    /// <summary>
    /// log π(y_t | …) (B, R) of <paramref name="responseIds"/> from their <see cref="ResponseHidden"/>, under
    /// <paramref name="temperature"/>: the output layer fused with the log-softmax (<see cref="FusedLinearTokenLogProbs"/>),
    /// so no (B, R, V) logits tensor is kept for the backward pass, only onehot − softmax in the model's matmul dtype.
    /// </summary>
    public static Tensor FromHidden(Gpt model, Tensor hidden, Tensor responseIds, double temperature) =>
        FusedLinearTokenLogProbs.Compute(hidden, model.OutputWeight, responseIds, temperature, model.Config.MatmulDtype);

    /// <summary>log π(y_t | x, y_&lt;t) of each response token (B, R), under <paramref name="temperature"/>.</summary>
    public static Tensor Of(Gpt model, Tensor ids, Tensor attention, Tensor responseIds, int promptLength, double temperature)
    {
        using var scope = NewDisposeScope();
        var hidden = ResponseHidden(model, ids, attention, promptLength, (int)responseIds.shape[1]);
        return FromHidden(model, hidden, responseIds, temperature).MoveToOuterDisposeScope();
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
