using MiniLlmPipeline.Data;
using MiniLlmPipeline.Generation;
using MiniLlmPipeline.IO;
using MiniLlmPipeline.Model;

namespace MiniLlmPipeline.Evaluation;

/// <summary>
/// What an alignment stage changed, in the one metric they are all judged by: form compliance of the model it started
/// from (<see cref="Before"/>) and of the model it wrote (<see cref="After"/>) on the same prompts, seed and sampling.
/// </summary>
public sealed record ComplianceComparison(FormComplianceReport Before, FormComplianceReport After)
{
    /// <summary>Tokens kept free for the prompt when the context is too short for the evaluator's answer length.</summary>
    private const int PromptRoom = 32;

    /// <summary>Form compliance of a chat model with the shared evaluator, its answer length capped to fit the context.</summary>
    public static FormComplianceReport Measure(TextGenerator generator, IReadOnlyList<PromptExample> prompts, int samples, int seed) =>
        FormComplianceEvaluator.Evaluate(generator, prompts, samples, seed, SamplingFor(generator.Model.Config));

    /// <summary>The evaluator's sampling, with at most max_seq_len − 32 new tokens so a short context still sees its prompt.</summary>
    public static SamplingSettings SamplingFor(GptConfig config) => FormComplianceEvaluator.Sampling with
    {
        MaxNewTokens = Math.Max(1, Math.Min(FormComplianceEvaluator.Sampling.MaxNewTokens, config.MaxSeqLen - PromptRoom)),
    };

    /// <summary>The manifest keys every alignment stage records: compliance_before/after, form_score_before/after, rhyme_rate_before/after, repeated_chars_before/after.</summary>
    public void AddTo(IDictionary<string, double> metrics)
    {
        metrics["compliance_before"] = Before.ComplianceRate;
        metrics["compliance_after"] = After.ComplianceRate;
        metrics["form_score_before"] = Before.MeanScore;
        metrics["form_score_after"] = After.MeanScore;
        metrics["rhyme_rate_before"] = Before.RhymeRate;
        metrics["rhyme_rate_after"] = After.RhymeRate;
        metrics["repeated_chars_before"] = Before.RepeatedShare;
        metrics["repeated_chars_after"] = After.RepeatedShare;
    }

    /// <summary>A Markdown page of both sets of answers (for samples.md beside the checkpoint).</summary>
    public string ToMarkdown(string title, int max = 8) =>
        $"# {title}\n\n" +
        $"Form compliance on {After.Samples} held-out prompts: {Before.ComplianceRate:P0} before → {After.ComplianceRate:P0} after " +
        $"(mean form score {Before.MeanScore:F2} → {After.MeanScore:F2}; rhyme rate {Before.RhymeRate:P0} → {After.RhymeRate:P0}; " +
        $"repeated characters {Before.RepeatedShare:P0} → {After.RepeatedShare:P0}).\n\n" +
        $"## After\n\n{After.Format(max)}\n\n## Before\n\n{Before.Format(max)}\n";
}
