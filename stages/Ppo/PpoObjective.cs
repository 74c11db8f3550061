using System.Diagnostics;
using MiniLlmPipeline.Alignment;
using MiniLlmPipeline.Data;
using MiniLlmPipeline.Evaluation;
using MiniLlmPipeline.Generation;
using MiniLlmPipeline.Model;
using MiniLlmPipeline.Rlhf;
using MiniLlmPipeline.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace MiniLlmPipeline.Stages.Ppo;

/// <summary>
/// PPO-RLHF (Ziegler et al. 2019; Ouyang et al. 2022; the loop of TRL's PPOTrainer) as an iteration objective of the
/// shared <see cref="Trainer"/>. <see cref="Collect"/> gathers an iteration's rollout: sample prompts and responses (both
/// pure in seed and iteration, so a run resumed at an iteration boundary regenerates them exactly), score them, per-token
/// log-probs of the policy and the frozen reference, values, KL-shaped rewards, GAE advantages. Then ppo_epochs passes
/// over it in mini-batches of mini_batch rows, each one optimizer step on the clipped policy loss + value_coef × clipped
/// value loss.
/// </summary>
public sealed class PpoObjective : IIterationObjective, IDisposable
{
    private readonly PolicyAndValue _model;
    private readonly Gpt _reference;
    private readonly IReadOnlyList<int[]> _prompts;
    private readonly IRolloutReward _reward;
    private readonly PpoConfig _config;
    private readonly int _seed;
    private readonly int[] _stopIds;
    private readonly int _padId;
    private readonly KlCoefficientHistory _history;
    private readonly RolloutSamples? _samples;
    private readonly List<PpoIterationSummary> _summaries = [];
    private IKlController _kl;
    private Rollout? _rollout;

    /// <param name="prompts">Encoded prompts (chat template applied); each iteration samples rollout_batch of them.</param>
    /// <param name="klHistoryPath">Where β per iteration is kept for exact resume (null: in memory only).</param>
    /// <param name="samples">Where every sample_every-th iteration's first responses are written (null: nowhere).</param>
    public PpoObjective(PolicyAndValue model, Gpt reference, IReadOnlyList<int[]> prompts, IRolloutReward reward, PpoConfig config,
        int seed, int[] stopIds, int padId, string? klHistoryPath, RolloutSamples? samples = null)
    {
        _samples = samples;
        if (prompts.Count == 0 || prompts.Any(p => p.Length == 0)) throw new ArgumentException("PPO needs non-empty prompts", nameof(prompts));
        _model = model;
        _reference = reference;
        _reward = reward;
        _config = config;
        _seed = seed;
        _stopIds = stopIds;
        _padId = padId;
        _history = new KlCoefficientHistory(klHistoryPath);
        _kl = IKlController.Create(config.KlCoef, config.KlTarget);
        // Trimmed here as Generator trims them, so the rollout batch holds exactly the prompt ids the responses followed.
        _prompts = prompts.Select(p => BatchedGenerator.FitPrompt(p, reference.Config.MaxSeqLen, config.MaxNewTokens)).ToList();
    }

    private int MiniBatches => _config.RolloutBatch / _config.MiniBatch;

    public int StepsPerIteration => _config.StepsPerIteration;

    public string IterationKind => PipelinePlots.PpoKind;

    /// <summary>The iterations this run completed, in order (a resumed run: those after the resume).</summary>
    public IReadOnlyList<PpoIterationSummary> Summaries => _summaries;

    /// <summary>Update step <paramref name="step"/> of an iteration is mini-batch step mod M of PPO epoch step / M (M = rollout_batch / mini_batch).</summary>
    public LossResult Loss(int iteration, int step)
    {
        var rollout = _rollout is { } r && r.Iteration == iteration
            ? r : throw new InvalidOperationException($"no rollout collected for iteration {iteration}");
        var (epoch, mini) = (step / MiniBatches, step % MiniBatches);
        var rows = rollout.Batch.Select(rollout.Order(epoch).Skip(mini * _config.MiniBatch).Take(_config.MiniBatch).ToArray());
        var logProbs = RolloutLogProbs.Of(_model.Policy, rows, _config.Temperature);
        var values = ResponseValues(rows.Ids, rows.AttentionMask, rows.PromptLength, rows.ResponseLength);
        var mask = rows.ResponseMask;
        var policy = PpoLoss.Policy(logProbs, rows.PerToken(rollout.OldLogProbs), rows.PerToken(rollout.Advantages), mask, _config.ClipRange);
        var value = PpoLoss.Value(values, rows.PerToken(rollout.OldValues), rows.PerToken(rollout.Returns), mask, _config.ValueClipRange);
        var metrics = new Dictionary<string, Tensor>
        {
            ["policy_loss"] = policy.Loss.detach(), ["value_loss"] = value.Loss.detach(), ["clip_fraction"] = policy.ClipFraction,
            ["approx_kl"] = policy.ApproxKl, ["value_clip_fraction"] = value.ClipFraction,
        };
        rollout.Accumulate(metrics, rows.Ids.numel());
        return new LossResult(policy.Loss + _config.ValueCoef * value.Loss, metrics, rows.Ids.numel());
    }

    /// <summary>The iteration's summary (timings run from its rollout to this call), its samples, and its log line.</summary>
    public (IReadOnlyDictionary<string, double> Metrics, string LogLine) EndIteration(int iteration)
    {
        var summary = _rollout!.Summarize();
        _summaries.Add(summary);
        if (_samples is not null && (iteration % _config.SampleEvery == 0 || iteration == _config.Iterations - 1)) _samples.Write(summary.Iteration, summary.PromptIndices, summary.Responses, summary.Scores);
        return (summary.Metrics, Describe(summary));
    }

    private string Describe(PpoIterationSummary s)
    {
        double M(string key) => s.Metrics.GetValueOrDefault(key, double.NaN);
        return $"iteration {s.Iteration + 1}/{_config.Iterations}: reward {M("reward_mean"):F3} (model {M("reward_model_mean"):F3}, form {M("form_score_mean"):F3}), " +
               $"kl {M("kl"):F3} (β {M("kl_coef"):G3}), policy {M("policy_loss"):F4}, value {M("value_loss"):F4}, clip {M("clip_fraction"):F3}, " +
               $"len {M("response_length"):F1}, gen {M("gen_tokens_per_s"):F0} tok/s, train {M("train_tokens_per_s"):F0} tok/s, {M("iteration_seconds"):F1} s";
    }

    /// <summary>The rollout phase of <paramref name="iteration"/> (no gradients).</summary>
    public void Collect(int iteration)
    {
        _rollout?.Dispose();
        _rollout = null;
        var clock = Stopwatch.StartNew();
        // A resumed run restores the β its iteration started with; a fresh one starts from kl_coef.
        if (_history.At(iteration) is { } coef) _kl = IKlController.Create(coef, _config.KlTarget);

        var indices = PromptSet.ForIteration(_prompts.Count, _config.RolloutBatch, _seed, iteration);
        var prompts = indices.Select(i => _prompts[i]).ToList();
        var settings = new SamplingSettings { MaxNewTokens = _config.MaxNewTokens, Temperature = _config.Temperature, TopP = _config.TopP };
        var device = _model.Policy.parameters().First().device;
        var responses = RolloutSampling.Sample(_model.Policy, prompts, settings, _seed, iteration, _stopIds, _padId);
        var generationSeconds = clock.Elapsed.TotalSeconds;

        using var noGrad = no_grad();
        using var scope = NewDisposeScope();
        var batch = RolloutBatch.Build(indices, prompts, responses, _padId, device);
        try
        {
            var mask = batch.ResponseMask;
            var (p, r) = (batch.PromptLength, batch.ResponseLength);
            // One forward pass for both: the log-probs through the same fused head as the update steps' (a ratio of exactly 1
            // at the first step), the entropy from the full logits, which only it needs.
            var hidden = RolloutLogProbs.ResponseHidden(_model.Policy, batch.Ids, batch.AttentionMask, p, r);  // (B, R, C)
            var logProbs = RolloutLogProbs.FromHidden(_model.Policy, hidden, batch.ResponseIds, _config.Temperature); // (B, R)
            var entropy = Entropy.FromLogits(_model.Policy.Logits(hidden) / _config.Temperature, mask).item<float>();
            Tensor refLogProbs;
            using (LoraAdapters.Disable(_reference)) refLogProbs = RolloutLogProbs.Of(_reference, batch, _config.Temperature);
            var values = ResponseValues(batch.Ids, batch.AttentionMask, p, r);
            var scores = _reward.Score(batch);
            var score = tensor(scores.Total, device: device);                                          // (B)

            var klCoef = _kl.Value;
            var rewards = RewardShaping.PerToken(score, logProbs, refLogProbs, mask, klCoef);         // (B, R)
            var estimate = GeneralizedAdvantageEstimate.Compute(rewards, values, mask, _config.Gamma, _config.Lambda);
            var advantages = _config.WhitenAdvantages ? Whitening.Masked(estimate.Advantages, mask) : estimate.Advantages;
            // The sequence KL Σ_t k1_t (Ziegler et al. 2019) is what the adaptive controller targets and what we log.
            var kl = (KlEstimators.K1(logProbs, refLogProbs) * mask.to_type(logProbs.dtype)).sum(1);         // (B)
            var klMean = kl.mean().item<float>();
            _kl.Update(klMean, batch.Rows);
            _history.Record(iteration + 1, _kl.Value);

            var metrics = new Dictionary<string, double>(scores.Parts)
            {
                ["reward_mean"] = scores.Total.Average(),
                ["kl"] = klMean,
                ["kl_coef"] = klCoef,
                ["non_score_reward"] = -klCoef * klMean,
                ["entropy"] = entropy,
                ["response_length"] = responses.Average(x => x.Length),
                ["value_mean"] = MaskedStatistics.Mean(values, mask).item<float>(),
                ["gen_tokens_per_s"] = responses.Sum(x => x.Length) / Math.Max(1e-9, generationSeconds),
                ["generation_seconds"] = generationSeconds,
            };
            _rollout = new Rollout(iteration, batch, scores.Total, metrics, clock,
                logProbs.DetachFromDisposeScope(), values.DetachFromDisposeScope(),
                advantages.DetachFromDisposeScope(), estimate.Returns.DetachFromDisposeScope(),
                RolloutSampling.EpochOrders(_seed, iteration, _config.PpoEpochs, batch.Rows));
        }
        catch
        {
            batch.Dispose();
            throw;
        }
    }

    /// <summary>V at the state before each response token (B, R): the value head read one position earlier, as TRL does.</summary>
    private Tensor ResponseValues(Tensor ids, Tensor attention, int promptLength, int responseLength)
    {
        using var scope = NewDisposeScope();
        return _model.Value.Scores(ids, attention).narrow(1, promptLength - 1, responseLength).MoveToOuterDisposeScope();
    }

    public void Dispose() => _rollout?.Dispose();

    /// <summary>An iteration's rollout and the running sums of its training metrics.</summary>
    private sealed class Rollout(
        int iteration, RolloutBatch batch, float[] scores, Dictionary<string, double> metrics, Stopwatch clock,
        Tensor oldLogProbs, Tensor oldValues, Tensor advantages, Tensor returns, int[][] orders) : IDisposable
    {
        private readonly IterationMetrics _record = new(metrics, clock);

        public int Iteration => iteration;
        public RolloutBatch Batch => batch;
        public Tensor OldLogProbs => oldLogProbs;
        public Tensor OldValues => oldValues;
        public Tensor Advantages => advantages;
        public Tensor Returns => returns;

        public int[] Order(int epoch) => orders[epoch];

        public void Accumulate(IReadOnlyDictionary<string, Tensor> values, long tokens) => _record.Accumulate(values, tokens);

        public PpoIterationSummary Summarize() =>
            new(iteration, _record.Summarize(), batch.PromptIndices, batch.Responses, scores);

        public void Dispose()
        {
            batch.Dispose();
            oldLogProbs.Dispose();
            oldValues.Dispose();
            advantages.Dispose();
            returns.Dispose();
        }
    }
}
