using MiniLlmPipeline.Alignment;
using MiniLlmPipeline.Data;
using MiniLlmPipeline.Model;
using MiniLlmPipeline.Training;
using static TorchSharp.torch;

namespace MiniLlmPipeline.Stages.Dpo;

/// <summary>
/// DPO on preference pairs (Rafailov et al. 2023): the policy's response log-probs against the reference's, which are
/// computed once per pair before training (<see cref="PrecomputeReference"/>) with the policy's initial weights, i.e.
/// the frozen reference, and kept in memory as plain numbers, so no reference model or graph exists during training.
/// Log-probs are sums over response tokens; for IPO their per-token means (as TRL computes IPO). Micro-batch k holds the
/// pairs of <see cref="LengthBucketSampler.Batch"/>(k), a pure function of (seed, k), so a resumed run is exact.
/// </summary>
internal sealed class DpoObjective : ITrainingObjective
{
    private readonly Gpt _policy;
    private readonly IReadOnlyList<PreferencePair> _train;
    private readonly IReadOnlyList<PreferencePair> _validation;
    private readonly LengthBucketSampler _sampler;
    private readonly DpoConfig _config;
    private readonly int _padId;
    private readonly Device _device;
    private readonly PairValues _reference;
    private PairValues? _validationReference;

    public DpoObjective(Gpt policy, IReadOnlyList<PreferencePair> train, LengthBucketSampler sampler,
        IReadOnlyList<PreferencePair> validation, DpoConfig config, int padId, Device device)
    {
        (_policy, _train, _sampler, _validation, _config, _padId, _device) = (policy, train, sampler, validation, config, padId, device);
        ValidationPairs = Math.Min(validation.Count, config.EvalBatches * config.BatchSize);
        _reference = new PairValues(Enumerable.Repeat(float.NaN, train.Count).ToArray(), Enumerable.Repeat(float.NaN, train.Count).ToArray());
    }

    /// <summary>How many validation pairs <see cref="Evaluate"/> scores: the first eval_batches × batch_size (the same ones every time).</summary>
    public int ValidationPairs { get; }

    /// <summary>
    /// Reference log-probs of every training pair the first <paramref name="microBatches"/> micro-batches visit and of
    /// the <see cref="ValidationPairs"/>, from the policy as it is now (call before training: then it is the reference). Returns how
    /// many training pairs were scored.
    /// </summary>
    public int PrecomputeReference(long microBatches)
    {
        var visited = new SortedSet<int>();
        for (long k = 0; k < microBatches && visited.Count < _train.Count; k++) visited.UnionWith(_sampler.Batch(k));
        var indices = visited.ToList();
        var values = LogProbs(_train, indices);
        for (var j = 0; j < indices.Count; j++)
            (_reference.Chosen[indices[j]], _reference.Rejected[indices[j]]) = (values.Chosen[j], values.Rejected[j]);
        _validationReference = LogProbs(_validation, Enumerable.Range(0, ValidationPairs).ToList());
        return indices.Count;
    }

    public LossResult Loss(long microBatchIndex)
    {
        var indices = _sampler.Batch(microBatchIndex);
        var batch = PreferenceCollator.Collate(indices.Select(i => _train[i]).ToList(), _padId, _device);
        var (policyChosen, policyRejected) = batch.Split(LogProbs(batch));
        var result = Compute(policyChosen, policyRejected, Cached(_reference.Chosen, indices), Cached(_reference.Rejected, indices));
        var metrics = new Dictionary<string, Tensor>
        {
            ["reward_accuracy"] = result.RewardAccuracy, ["reward_margin"] = result.RewardMargin,
            ["chosen_reward"] = result.ChosenRewards.mean(), ["rejected_reward"] = result.RejectedRewards.mean(),
        };
        return new LossResult(result.Loss, metrics, batch.Tokens);
    }

    /// <summary>DPO loss, reward accuracy and margin on the <see cref="ValidationPairs"/> validation pairs.</summary>
    public IReadOnlyDictionary<string, double> Evaluate()
    {
        if (ValidationPairs == 0) return new Dictionary<string, double>();
        var reference = _validationReference ?? throw new InvalidOperationException("PrecomputeReference must run before validation");
        var indices = Enumerable.Range(0, ValidationPairs).ToList();
        var policy = LogProbs(_validation, indices);
        using var scope = NewDisposeScope();
        // On the device the cached reference values live on: a CPU tensor against a CUDA one would fail on a GPU run.
        var result = Compute(tensor(policy.Chosen, device: _device), tensor(policy.Rejected, device: _device),
            Cached(reference.Chosen, indices), Cached(reference.Rejected, indices));
        return new Dictionary<string, double>
        {
            ["val_loss"] = result.Loss.item<float>(), ["val_reward_accuracy"] = result.RewardAccuracy.item<float>(),
            ["val_reward_margin"] = result.RewardMargin.item<float>(),
        };
    }

    private DpoResult Compute(Tensor policyChosen, Tensor policyRejected, Tensor referenceChosen, Tensor referenceRejected) =>
        DpoLoss.Compute(policyChosen, policyRejected, referenceChosen, referenceRejected, _config.Beta, _config.LabelSmoothing, _config.LossType);

    private bool LengthNormalised => _config.LossType == DpoLoss.Ipo;

    /// <summary>(2B) response log-probs of a batch under the policy (summed, or averaged for IPO).</summary>
    private Tensor LogProbs(PreferenceBatch batch) => batch.ResponseLogProbs(_policy, LengthNormalised);

    private PairValues LogProbs(IReadOnlyList<PreferencePair> pairs, IReadOnlyList<int> indices) =>
        PreferenceCollator.Map(pairs, indices, _config.BatchSize, _padId, _device, LogProbs);

    /// <summary>The cached values of <paramref name="indices"/> as a (B) tensor; a pair that was never precomputed is a bug.</summary>
    private Tensor Cached(float[] values, IReadOnlyList<int> indices)
    {
        var selected = indices.Select(i => values[i]).ToArray();
        if (selected.Any(float.IsNaN)) throw new InvalidOperationException("a training pair has no precomputed reference log-prob");
        return tensor(selected, device: _device);
    }
}
