using System.Diagnostics;
using MiniLlmPipeline.Alignment;
using MiniLlmPipeline.Data;
using MiniLlmPipeline.Generation;
using MiniLlmPipeline.Model;
using MiniLlmPipeline.Rlhf;
using MiniLlmPipeline.Tokenization;
using MiniLlmPipeline.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace MiniLlmPipeline.Stages.Dpo;

/// <summary>
/// Iterative on-policy DPO (Xiong et al. 2024, "Iterative Preference Learning from Human Feedback"; the rounds of Llama 3,
/// Dubey et al. 2024 §4.1) as an iteration objective of the shared <see cref="Trainer"/>: each round samples
/// samples_per_prompt answers to prompts_per_round prompts from the current policy, ranks them by the shared reward
/// (<see cref="PoetryReward"/>), and pairs each prompt's best answer (chosen) with its worst (rejected) when their rewards
/// differ by more than margin. Then epochs_per_round passes of DPO over the round's pairs.
/// <para>
/// The reference of round r is the policy that sampled it (π_r, its log-probs taken when the round's pairs are made): the
/// pairs are π_r's own answers, so the DPO loss starts at log 2 every round and measures how far this round moved toward
/// its better answers; the KL anchor moves with the policy, as in Xiong et al. and Self-Rewarding LMs (Yuan et al. 2024).
/// A fixed SFT reference would instead penalise every later round for the earlier rounds' (wanted) progress.
/// </para>
/// Prompts and samples are pure in (seed, round), so a run resumed at a round boundary is exact.
/// </summary>
internal sealed class OnPolicyDpoObjective : IIterationObjective
{
    public const string Kind = "dpo_round";

    private readonly Gpt _policy;
    private readonly TextTokenizer _tokenizer;
    private readonly IReadOnlyList<PromptExample> _prompts;
    private readonly IReadOnlyList<int[]> _encoded;
    private readonly IRolloutReward _reward;
    private readonly DpoConfig _config;
    private readonly int _seed;
    private readonly int[] _stopIds;
    private readonly SampledPairsFile _pairsFile;
    private readonly List<IReadOnlyDictionary<string, double>> _summaries = [];
    private Round? _round;

    public OnPolicyDpoObjective(Gpt policy, TextTokenizer tokenizer, IReadOnlyList<PromptExample> prompts, IRolloutReward reward,
        DpoConfig config, int seed, SampledPairsFile pairsFile)
    {
        (_policy, _tokenizer, _prompts, _reward, _config, _seed, _pairsFile) = (policy, tokenizer, prompts, reward, config, seed, pairsFile);
        _stopIds = [tokenizer.ImEndId, tokenizer.EndOfTextId];
        _encoded = prompts.Select(p => BatchedGenerator.FitPrompt(ChatTemplate.RenderPrompt(tokenizer, p.Prompt), policy.Config.MaxSeqLen,
            config.MaxNewTokens)).ToList();
    }

    public int StepsPerIteration => _config.StepsPerRound;

    public string IterationKind => Kind;

    public IReadOnlyList<IReadOnlyDictionary<string, double>> Summaries => _summaries;

    public void Collect(int round)
    {
        var clock = Stopwatch.StartNew();
        var k = _config.SamplesPerPrompt;
        var drawn = PromptSet.ForIteration(_prompts.Count, _config.PromptsPerRound, _seed, round);
        var indices = drawn.SelectMany(i => Enumerable.Repeat(i, k)).ToList();
        var settings = new SamplingSettings { MaxNewTokens = _config.MaxNewTokens, Temperature = _config.Temperature, TopP = _config.TopP };
        var device = _policy.parameters().First().device;
        var responses = RolloutSampling.Sample(_policy, indices.Select(i => _encoded[i]).ToList(), settings, _seed, round, _stopIds, _tokenizer.PadId);
        var generationSeconds = clock.Elapsed.TotalSeconds;

        RolloutScores scores;
        using (var batch = RolloutBatch.Build(indices, indices.Select(i => _encoded[i]).ToList(), responses, _tokenizer.PadId, device))
        using (no_grad())
            scores = _reward.Score(batch);

        var sampled = new List<SampledPair>();
        var unreadable = 0;
        for (var p = 0; p < drawn.Length; p++)
        {
            var rows = Enumerable.Range(p * k, k).ToList();
            var (best, worst) = (rows.MaxBy(r => scores.Total[r]), rows.MinBy(r => scores.Total[r]));
            if (scores.Total[best] - scores.Total[worst] <= _config.Margin) continue;
            var (chosen, rejected) = (Text(responses[best]), Text(responses[worst]));
            // An answer that stops inside a multi-byte character decodes to U+FFFD: its text is not what the model said
            // (re-encoding it gives other tokens), and no dataset reader accepts it. Such a pair is left out and counted.
            if (chosen.Contains('\uFFFD') || rejected.Contains('\uFFFD'))
            {
                unreadable++;
                continue;
            }
            sampled.Add(new SampledPair(round, _prompts[drawn[p]].Prompt, chosen, rejected, scores.Total[best], scores.Total[worst]));
        }
        _pairsFile.Record(round, sampled);

        var rendered = PreferenceCollator.Render(_tokenizer, sampled.Select(s => new PreferenceExample(s.Prompt, s.Chosen, s.Rejected)).ToList(),
            _policy.Config.MaxSeqLen);
        // The round's reference: the policy that sampled it, before any update of this round.
        var reference = rendered.Pairs.Count == 0 ? new PairValues([], [])
            : PreferenceCollator.Map(rendered.Pairs, Enumerable.Range(0, rendered.Pairs.Count).ToList(), _config.BatchSize,
                _tokenizer.PadId, device, batch => batch.ResponseLogProbs(_policy, LengthNormalised));
        var order = Enumerable.Range(0, rendered.Pairs.Count).ToArray();
        new Random(SeedMix.Of(_seed, -1 - round)).Shuffle(order);
        var metrics = new Dictionary<string, double>(scores.Parts)
        {
            ["reward_mean"] = scores.Total.Average(),
            ["pairs"] = rendered.Pairs.Count,
            ["unreadable_pairs"] = unreadable,
            ["pair_reward_gap"] = sampled.Count > 0 ? sampled.Average(s => s.ChosenReward - s.RejectedReward) : 0,
            ["response_length"] = responses.Average(r => r.Length),
            ["gen_tokens_per_s"] = responses.Sum(r => r.Length) / Math.Max(1e-9, generationSeconds),
            ["generation_seconds"] = generationSeconds,
        };
        _round = new Round(round, rendered.Pairs, reference, order, metrics, clock);
    }

    /// <summary>Step s takes the next batch_size pairs of the round's shuffled order, wrapping around (a round may pair fewer prompts).</summary>
    public LossResult Loss(int round, int step)
    {
        var r = _round is { } x && x.Index == round ? x : throw new InvalidOperationException($"no pairs sampled for round {round}");
        var device = _policy.parameters().First().device;
        if (r.Pairs.Count == 0)
        {
            // Nothing to learn this round (every group tied): a zero loss that still flows through the graph.
            var zero = _policy.parameters().First().sum() * 0;
            return new LossResult(zero, new Dictionary<string, Tensor>(), 0);
        }
        var picked = Enumerable.Range(step * _config.BatchSize, Math.Min(_config.BatchSize, r.Pairs.Count))
            .Select(i => r.Order[i % r.Pairs.Count]).ToList();
        var batch = PreferenceCollator.Collate(picked.Select(i => r.Pairs[i]).ToList(), _tokenizer.PadId, device);
        var tokenLogProbs = batch.TokenLogProbsUnder(_policy);
        var (policyChosen, policyRejected) = batch.Split(batch.ResponseLogProbsOf(tokenLogProbs, LengthNormalised));
        var result = DpoLoss.Compute(policyChosen, policyRejected,
            tensor(picked.Select(i => r.Reference.Chosen[i]).ToArray(), device: device),
            tensor(picked.Select(i => r.Reference.Rejected[i]).ToArray(), device: device),
            _config.Beta, _config.LabelSmoothing, _config.LossType);
        // RPO / iterative RPO (Pang et al. 2024): + α × the chosen answers' per-token NLL. On pairs of the policy's own,
        // near-identical answers plain DPO lowers the likelihood of both sides and the policy drifts to answers neither
        // side showed (measured here: compliance of the sampled answers 52 % → 16 % over four rounds); the NLL term keeps
        // the chosen answers likely. TRL's rpo_alpha.
        var chosenNll = -batch.Split(batch.ResponseLogProbsOf(tokenLogProbs, lengthNormalised: true)).Chosen.mean();
        var loss = result.Loss + _config.RpoAlpha * chosenNll;
        var metrics = new Dictionary<string, Tensor>
        {
            ["dpo_loss"] = result.Loss.detach(), ["chosen_nll"] = chosenNll.detach(),
            ["reward_accuracy"] = result.RewardAccuracy, ["reward_margin"] = result.RewardMargin,
        };
        r.Accumulate(result.Loss.detach().item<float>(), result.RewardAccuracy.item<float>());
        return new LossResult(loss, metrics, batch.Tokens);
    }

    public (IReadOnlyDictionary<string, double> Metrics, string LogLine) EndIteration(int round)
    {
        var m = _round!.Summarize();
        _summaries.Add(m);
        double M(string key) => m.GetValueOrDefault(key, double.NaN);
        return (m, $"round {round + 1}/{_config.Rounds}: reward {M("reward_mean"):F3} (form {M("form_score_mean"):F3}, compliant " +
                   $"{M("form_compliance"):P0}, rhyme {M("rhyme_score_mean"):F2}, repeated {M("repeated_share_mean"):P0}), {M("pairs"):F0} pairs (gap {M("pair_reward_gap"):F2}), " +
                   $"dpo loss {M("dpo_loss"):F4}, accuracy {M("train_reward_accuracy"):P0}, len {M("response_length"):F1}, {M("round_seconds"):F1} s");
    }

    private bool LengthNormalised => _config.LossType == DpoLoss.Ipo;

    private string Text(int[] ids) => _tokenizer.Decode(ids, skipSpecialTokens: true).Trim();

    private sealed class Round(int index, IReadOnlyList<PreferencePair> pairs, PairValues reference, int[] order,
        Dictionary<string, double> metrics, Stopwatch clock)
    {
        private double _loss, _accuracy;
        private int _steps;

        public int Index => index;
        public IReadOnlyList<PreferencePair> Pairs => pairs;
        public PairValues Reference => reference;
        public int[] Order => order;

        public void Accumulate(double loss, double accuracy) => (_loss, _accuracy, _steps) = (_loss + loss, _accuracy + accuracy, _steps + 1);

        public IReadOnlyDictionary<string, double> Summarize()
        {
            var result = new Dictionary<string, double>(metrics)
            {
                ["dpo_loss"] = _steps > 0 ? _loss / _steps : 0,
                ["train_reward_accuracy"] = _steps > 0 ? _accuracy / _steps : 0,
                ["round_seconds"] = clock.Elapsed.TotalSeconds,
            };
            return result;
        }
    }
}
