using System.Diagnostics;
using MiniLlmPipeline.Alignment;
using MiniLlmPipeline.Data;
using MiniLlmPipeline.Generation;
using MiniLlmPipeline.Model;
using MiniLlmPipeline.Rlhf;
using MiniLlmPipeline.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace MiniLlmPipeline.Stages.Grpo;

/// <summary>
/// GRPO (Shao et al. 2024, DeepSeekMath §4.1; the loop of TRL's GRPOTrainer) as an iteration objective of the shared
/// <see cref="Trainer"/>. <see cref="Collect"/>: draw prompts_per_iteration prompts, sample group_size answers to each
/// from the current policy (rows p·G … p·G + G − 1 answer prompt p), score them, group-relative advantages, and the
/// per-token log-probs of the policy as it is now (π_old) and of the frozen reference. Then epochs passes over the
/// answers in mini-batches, each one optimizer step on <see cref="GrpoLoss"/>. No value model: the group mean is the
/// baseline. Prompts and samples are pure in (seed, iteration), so a run resumed at an iteration boundary is exact.
/// </summary>
public sealed class GrpoObjective : IIterationObjective, IDisposable
{
    /// <summary>The metrics.jsonl kind of the per-iteration record.</summary>
    public const string Kind = "grpo";

    private readonly Gpt _policy;
    private readonly Gpt _reference;
    private readonly IReadOnlyList<int[]> _prompts;
    private readonly IRolloutReward _reward;
    private readonly GrpoConfig _config;
    private readonly int _seed;
    private readonly int[] _stopIds;
    private readonly int _padId;
    private readonly RolloutSamples? _samples;
    private readonly List<IReadOnlyDictionary<string, double>> _summaries = [];
    private Experience? _experience;

    /// <param name="prompts">Encoded prompts (chat template applied).</param>
    public GrpoObjective(Gpt policy, Gpt reference, IReadOnlyList<int[]> prompts, IRolloutReward reward, GrpoConfig config, int seed,
        int[] stopIds, int padId, RolloutSamples? samples = null)
    {
        if (prompts.Count == 0 || prompts.Any(p => p.Length == 0)) throw new ArgumentException("GRPO needs non-empty prompts", nameof(prompts));
        (_policy, _reference, _reward, _config, _seed, _stopIds, _padId, _samples) = (policy, reference, reward, config, seed, stopIds, padId, samples);
        // Trimmed as the generator trims them, so the rollout holds exactly the prompt ids the answers followed.
        _prompts = prompts.Select(p => BatchedGenerator.FitPrompt(p, policy.Config.MaxSeqLen, config.MaxNewTokens)).ToList();
    }

    public int StepsPerIteration => _config.StepsPerIteration;

    public string IterationKind => Kind;

    /// <summary>The metrics of the iterations this run completed, in order.</summary>
    public IReadOnlyList<IReadOnlyDictionary<string, double>> Summaries => _summaries;

    private int MiniBatches => _config.Rows / _config.MiniBatch;

    /// <summary>
    /// One pass of one mini-batch: the only update step sees the policy that sampled, so π_old = π_θ and the ratio is
    /// 1 by construction. π_old is then the step's own log-probs, detached (TRL's GRPOTrainer does the same when
    /// num_iterations is 1), and the forward pass that would compute it at collection is skipped.
    /// </summary>
    private bool SingleOnPolicyStep => _config.Epochs == 1 && MiniBatches == 1;

    public void Collect(int iteration)
    {
        _experience?.Dispose();
        _experience = null;
        var clock = Stopwatch.StartNew();
        var group = _config.GroupSize;
        var drawn = PromptSet.ForIteration(_prompts.Count, _config.PromptsPerIteration, _seed, iteration);
        var indices = drawn.SelectMany(i => Enumerable.Repeat(i, group)).ToList();
        var prompts = indices.Select(i => _prompts[i]).ToList();
        var settings = new SamplingSettings { MaxNewTokens = _config.MaxNewTokens, Temperature = _config.Temperature, TopP = _config.TopP };
        var device = _policy.parameters().First().device;
        var responses = RolloutSampling.Sample(_policy, prompts, settings, _seed, iteration, _stopIds, _padId);
        var generationSeconds = clock.Elapsed.TotalSeconds;

        using var noGrad = no_grad();
        using var scope = NewDisposeScope();
        var batch = RolloutBatch.Build(indices, prompts, responses, _padId, device);
        try
        {
            // The passes without gradients take rows of similar length together, so short answers are not padded to the
            // longest. The update steps must not: a group's compliant and broken answers differ in length, and mini-batches
            // sorted by length would split them, each step then pushing one kind of answer without its contrast.
            var lengths = Enumerable.Range(0, batch.Rows).Select(r => batch.PromptLengths[r] + batch.Responses[r].Length).ToArray();
            var groups = RolloutSampling.ByLength(lengths, _config.MiniBatch).ToList();
            var oldLogProbs = SingleOnPolicyStep ? null : RolloutLogProbs.Of(_policy, batch, groups, _config.Temperature);
            Tensor refLogProbs;
            using (LoraAdapters.Disable(_reference)) refLogProbs = RolloutLogProbs.Of(_reference, batch, groups, _config.Temperature);
            var scores = _reward.Score(batch);
            var rewards = tensor(scores.Total, device: device);
            var advantages = GroupAdvantages.Compute(rewards, group, _config.ScaleRewards);
            var groupStd = rewards.view(-1, group).std(1, unbiased: true);
            var metrics = new Dictionary<string, double>(scores.Parts)
            {
                ["reward_mean"] = scores.Total.Average(),
                ["reward_std_in_group"] = groupStd.mean().item<float>(),
                // Groups whose answers all scored the same teach nothing but the KL term (DAPO's "dynamic sampling" drops them).
                ["zero_variance_groups"] = (groupStd < 1e-6).to_type(ScalarType.Float32).mean().item<float>(),
                ["response_length"] = responses.Average(x => x.Length),
                ["gen_tokens_per_s"] = responses.Sum(x => x.Length) / Math.Max(1e-9, generationSeconds),
                ["generation_seconds"] = generationSeconds,
            };
            // KL of the sampling policy to the reference; with a single on-policy step, the step's own kl_update is that value.
            if (oldLogProbs is not null)
                metrics["kl"] = MaskedStatistics.Mean(KlEstimators.K3(oldLogProbs, refLogProbs), batch.ResponseMask).item<float>();
            _experience = new Experience(iteration, batch, metrics, clock, oldLogProbs?.DetachFromDisposeScope(),
                refLogProbs.DetachFromDisposeScope(), advantages.DetachFromDisposeScope(), RolloutSampling.EpochOrders(_seed, iteration, _config.Epochs, batch.Rows));
            if (_samples is not null && (iteration % _config.SampleEvery == 0 || iteration == _config.Iterations - 1))
                _samples.Write(iteration, indices, responses, scores.Total, BestAndWorstOfFirstGroup(scores.Total));
        }
        catch
        {
            batch.Dispose();
            throw;
        }
    }

    /// <summary>Step s of an iteration is mini-batch s mod M of epoch s / M (M = rows / mini_batch).</summary>
    public LossResult Loss(int iteration, int step)
    {
        var e = _experience is { } x && x.Iteration == iteration
            ? x : throw new InvalidOperationException($"no experience collected for iteration {iteration}");
        var (epoch, mini) = (step / MiniBatches, step % MiniBatches);
        var rows = e.Batch.Select(e.Orders[epoch].Skip(mini * _config.MiniBatch).Take(_config.MiniBatch).ToArray());
        var logProbs = RolloutLogProbs.Of(_policy, rows, _config.Temperature);
        var oldLogProbs = e.OldLogProbs is { } old ? rows.PerToken(old) : logProbs.detach();
        var loss = GrpoLoss.Compute(logProbs, oldLogProbs, rows.PerToken(e.RefLogProbs), rows.PerRow(e.Advantages), rows.ResponseMask,
            _config.ClipRange, _config.Beta, _config.ParsedLossType, _config.MaxNewTokens);
        var metrics = new Dictionary<string, Tensor>
        {
            ["policy_loss"] = loss.Loss.detach(), ["kl_update"] = loss.Kl, ["clip_fraction"] = loss.ClipFraction,
        };
        e.Accumulate(metrics, rows.Ids.numel());
        return new LossResult(loss.Loss, metrics, rows.Ids.numel());
    }

    public (IReadOnlyDictionary<string, double> Metrics, string LogLine) EndIteration(int iteration)
    {
        var m = _experience!.Summarize();
        if (!m.ContainsKey("kl")) m["kl"] = m["kl_update"];
        _summaries.Add(m);
        double M(string key) => m.GetValueOrDefault(key, double.NaN);
        return (m, $"iteration {iteration + 1}/{_config.Iterations}: reward {M("reward_mean"):F3} (form {M("form_score_mean"):F3}, " +
                   $"compliant {M("form_compliance"):P0}, rhyme {M("rhyme_score_mean"):F2}, repeated {M("repeated_share_mean"):P0}, no end {M("missing_end_rate"):P0}), " +
                   $"kl {M("kl"):F4}, policy {M("policy_loss"):F4}, clip {M("clip_fraction"):F3}, flat groups {M("zero_variance_groups"):P0}, " +
                   $"len {M("response_length"):F1}, gen {M("gen_tokens_per_s"):F0} tok/s, {M("iteration_seconds"):F1} s");
    }

    /// <summary>The best and the worst answer of the iteration's first group: what the advantage pulls apart.</summary>
    private IReadOnlyList<int> BestAndWorstOfFirstGroup(float[] scores)
    {
        var first = Enumerable.Range(0, _config.GroupSize).ToList();
        return [first.MaxBy(i => scores[i]), first.MinBy(i => scores[i])];
    }

    public void Dispose() => _experience?.Dispose();

    /// <summary>An iteration's answers, their fixed log-probs and advantages, and the running sums of its update metrics.</summary>
    private sealed class Experience(int iteration, RolloutBatch batch, Dictionary<string, double> metrics, Stopwatch clock,
        Tensor? oldLogProbs, Tensor refLogProbs, Tensor advantages, int[][] orders) : IDisposable
    {
        private readonly IterationMetrics _record = new(metrics, clock);

        public int Iteration => iteration;
        public RolloutBatch Batch => batch;
        /// <summary>π_old's log-probs, or null where the single update step's own (detached) serve.</summary>
        public Tensor? OldLogProbs => oldLogProbs;
        public Tensor RefLogProbs => refLogProbs;
        public Tensor Advantages => advantages;
        public int[][] Orders => orders;

        public void Accumulate(IReadOnlyDictionary<string, Tensor> values, long tokens) => _record.Accumulate(values, tokens);

        public Dictionary<string, double> Summarize() => _record.Summarize();

        public void Dispose()
        {
            batch.Dispose();
            oldLogProbs?.Dispose();
            refLogProbs.Dispose();
            advantages.Dispose();
        }
    }
}
