using MiniLlmPipeline.Data;
using MiniLlmPipeline.Evaluation;
using MiniLlmPipeline.Model;
using MiniLlmPipeline.Pipeline;
using MiniLlmPipeline.Rlhf;
using MiniLlmPipeline.Tokenization;
using static TorchSharp.torch;

namespace MiniLlmPipeline.Rlhf;

/// <summary>
/// PPO's sequence score: reward.model × the reward model's score at the last real token (where it was trained to
/// read its score) + reward.form × <see cref="PoetryFormChecker"/>'s graded score for the form the prompt asks for
/// (its <c>form</c> column, else the form named in the prompt text; 0 for prompts that name none).
/// </summary>
public sealed class PoetryReward(ScalarHeadModel rewardModel, TextTokenizer tokenizer, IReadOnlyList<PromptExample> prompts, RewardWeights weights)
    : IRolloutReward
{
    private readonly PoetryForm?[] _forms = prompts
        .Select(p => PoetryForm.TryParse(p.Get(FormComplianceEvaluator.FormColumn), out var form) ? form : PoetryForm.FindIn(p.Prompt)).ToArray();

    public RolloutScores Score(RolloutBatch batch)
    {
        using var scope = NewDisposeScope();
        var scores = rewardModel.Scores(batch.Ids, batch.AttentionMask)                      // (B, S)
            .gather(1, batch.LastTokenIndex.unsqueeze(1)).squeeze(1).cpu().data<float>().ToArray();
        var checks = batch.Responses.Select((ids, row) => _forms[batch.PromptIndices[row]] is { } form
            ? PoetryFormChecker.Check(form, tokenizer.Decode(ids, skipSpecialTokens: true).Trim())
            : null).ToList();
        var total = scores.Select((s, row) => (float)(weights.Model * s + weights.Form * (checks[row]?.Score ?? 0))).ToArray();
        var withForm = checks.Where(c => c is not null).Select(c => c!).ToList();
        return new RolloutScores(total, new Dictionary<string, double>
        {
            ["reward_model_mean"] = scores.Average(),
            ["form_score_mean"] = withForm.Count > 0 ? withForm.Average(c => c.Score) : 0,
            ["form_compliance"] = withForm.Count > 0 ? withForm.Average(c => c.Compliant ? 1.0 : 0.0) : 0,
        });
    }
}
