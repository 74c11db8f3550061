using MiniLlmPipeline.Alignment;
using MiniLlmPipeline.Data;
using MiniLlmPipeline.Model;
using MiniLlmPipeline.Training;
using static TorchSharp.torch;

namespace MiniLlmPipeline.Stages.RewardModel;

/// <summary>
/// Bradley–Terry on preference pairs (InstructGPT eq. 1): the reward of prompt + response is the scalar head's score at
/// the response's last token (its &lt;|im_end|&gt;), and the loss is −log σ(r_c − r_r). Micro-batch k holds the pairs
/// of <see cref="LengthBucketSampler.Batch"/>(k), a pure function of (seed, k), so a resumed run sees the same batches.
/// </summary>
internal sealed class RewardModelObjective(
    ScalarHeadModel model, IReadOnlyList<PreferencePair> train, LengthBucketSampler sampler,
    IReadOnlyList<PreferencePair> validation, int evalPairs, int batchSize, int padId, Device device) : ITrainingObjective
{
    public LossResult Loss(long microBatchIndex)
    {
        var batch = PreferenceCollator.Collate(sampler.Batch(microBatchIndex).Select(i => train[i]).ToList(), padId, device);
        var (chosen, rejected) = batch.Split(Rewards(batch));
        var result = BradleyTerryLoss.Compute(chosen, rejected);
        var metrics = new Dictionary<string, Tensor>
        {
            ["accuracy"] = result.Accuracy, ["margin"] = result.Margin,
            ["chosen_reward"] = chosen.detach().mean(), ["rejected_reward"] = rejected.detach().mean(),
        };
        return new LossResult(result.Loss, metrics, batch.Tokens);
    }

    /// <summary>How many validation pairs <see cref="Evaluate"/> scores: the first eval_batches × batch_size (the same ones every time).</summary>
    public int ValidationPairs => Math.Min(evalPairs, validation.Count);

    /// <summary>Loss, pairwise accuracy and mean margin on the <see cref="ValidationPairs"/> validation pairs.</summary>
    public IReadOnlyDictionary<string, double> Evaluate()
    {
        if (ValidationPairs == 0) return new Dictionary<string, double>();
        var rewards = Rewards(validation, Enumerable.Range(0, ValidationPairs).ToList());
        using var chosen = tensor(rewards.Chosen);
        using var rejected = tensor(rewards.Rejected);
        var result = BradleyTerryLoss.Compute(chosen, rejected);
        using (result.Loss) using (result.Accuracy) using (result.Margin)
            return new Dictionary<string, double>
            {
                ["val_loss"] = result.Loss.item<float>(), ["val_accuracy"] = result.Accuracy.item<float>(),
                ["val_margin"] = result.Margin.item<float>(),
            };
    }

    /// <summary>Rewards of the chosen and rejected side of <c>pairs[indices[j]]</c>, without gradient.</summary>
    public PairValues Rewards(IReadOnlyList<PreferencePair> pairs, IReadOnlyList<int> indices) =>
        PreferenceCollator.Map(pairs, indices, batchSize, padId, device, Rewards);

    private Tensor Rewards(PreferenceBatch batch) => batch.AtLastToken(model.Scores(batch.InputIds)); // (2B)
}
