using MiniLlmPipeline.Data;
using MiniLlmPipeline.Evaluation;
using MiniLlmPipeline.Model;
using MiniLlmPipeline.Tokenization;
using static TorchSharp.torch;

namespace MiniLlmPipeline.Rlhf;

/// <summary>
/// The sequence reward of the RL stages (<see cref="RewardWeights"/> says which terms and how much): the frozen reward
/// model's score at the last real token (where it was trained to read its score, when there is one) and
/// <see cref="PoetryFormChecker"/>'s verdict on the form the prompt asks for (its <c>form</c> column, else the form
/// named in the prompt text; the form terms are 0 for prompts that name none).
/// </summary>
public sealed class PoetryReward(
    ScalarHeadModel? rewardModel, TextTokenizer tokenizer, IReadOnlyList<PromptExample> prompts, RewardWeights weights, int[] stopIds)
    : IRolloutReward
{
    private readonly PoetryForm?[] _forms = prompts
        .Select(p => PoetryForm.TryParse(p.Get(FormComplianceEvaluator.FormColumn), out var form) ? form : PoetryForm.FindIn(p.Prompt)).ToArray();

    public RolloutScores Score(RolloutBatch batch)
    {
        if (weights.Model != 0 && rewardModel is null)
            throw new InvalidOperationException("reward.model is not 0 but no reward model was given");
        var modelScores = new float[batch.Rows];
        if (rewardModel is not null)
        {
            using var scope = NewDisposeScope();
            modelScores = rewardModel.Scores(batch.Ids, batch.AttentionMask)                        // (B, S)
                .gather(1, batch.LastTokenIndex.unsqueeze(1)).squeeze(1).cpu().data<float>().ToArray();
        }
        var texts = batch.Responses.Select(ids => tokenizer.Decode(ids, skipSpecialTokens: true).Trim()).ToList();
        var checks = texts.Select((text, row) => _forms[batch.PromptIndices[row]] is { } form ? PoetryFormChecker.Check(form, text) : null).ToList();
        var repeated = texts.Select(CharacterRepetition.RepeatedShare).ToArray();
        var ended = batch.Responses.Select(ids => ids.Length > 0 && stopIds.Contains(ids[^1])).ToArray();
        var total = Enumerable.Range(0, batch.Rows).Select(row => (float)(
            weights.Model * modelScores[row]
            + weights.Form * (checks[row]?.Score ?? 0)
            + weights.Compliant * (checks[row]?.Compliant == true ? 1 : 0)
            + weights.Rhyme * (checks[row]?.RhymeScore ?? 0)
            - weights.MissingEnd * (ended[row] ? 0 : 1)
            - weights.Repetition * repeated[row])).ToArray();

        var withForm = checks.Where(c => c is not null).Select(c => c!).ToList();
        double MeanOverForms(Func<FormCheck, double> part) => withForm.Count > 0 ? withForm.Average(part) : 0;
        var parts = new Dictionary<string, double>
        {
            ["form_score_mean"] = MeanOverForms(c => c.Score),
            ["form_compliance"] = MeanOverForms(c => c.Compliant ? 1 : 0),
            ["rhyme_score_mean"] = MeanOverForms(c => c.RhymeScore),
            ["missing_end_rate"] = ended.Average(e => e ? 0.0 : 1.0),
            ["repeated_share_mean"] = repeated.Average(),
        };
        if (rewardModel is not null) parts["reward_model_mean"] = modelScores.Average();
        return new RolloutScores(total, parts);
    }
}
