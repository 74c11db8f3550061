using MiniLlmPipeline.Data;
using MiniLlmPipeline.Generation;
using MiniLlmPipeline.IO;
using MiniLlmPipeline.Model;
using MiniLlmPipeline.Pipeline;

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

    /// <summary>
    /// Form compliance of the model an alignment stage starts from (its <c>from:</c> stage <paramref name="from"/>), logged;
    /// null when the stage measures none (no eval prompts).
    /// </summary>
    public static FormComplianceReport? MeasureBefore<TConfig>(StageContext<TConfig> context, TextGenerator generator,
        IReadOnlyList<PromptExample>? prompts, int samples, string from) where TConfig : class
    {
        if (prompts is null) return null;
        var before = Measure(generator, prompts, samples, context.Spec.Seed);
        context.Log($"form compliance of '{from}': {before.ComplianceRate:P0} (score {before.MeanScore:F2})");
        return before;
    }

    /// <summary>
    /// Form compliance of the model the stage wrote, on the prompts <paramref name="before"/> was measured on: the manifest
    /// keys (<see cref="AddTo"/>), both sets of answers as Markdown in the stage folder's <paramref name="fileName"/>, and a
    /// log line. Nothing when no "before" was measured.
    /// </summary>
    public static void MeasureAfter<TConfig>(StageContext<TConfig> context, FormComplianceReport? before, TextGenerator generator,
        IReadOnlyList<PromptExample>? prompts, int samples, IDictionary<string, double> metrics, string fileName, string title)
        where TConfig : class
    {
        if (before is null || prompts is null) return;
        var comparison = new ComplianceComparison(before, Measure(generator, prompts, samples, context.Spec.Seed));
        comparison.AddTo(metrics);
        AtomicFile.WriteAllText(Path.Combine(context.StageDir, fileName), comparison.ToMarkdown(title));
        context.Log($"form compliance: {before.ComplianceRate:P0} before → {comparison.After.ComplianceRate:P0} after " +
                    $"(score {before.MeanScore:F2} → {comparison.After.MeanScore:F2})");
    }

    /// <summary>The evaluator's sampling, with at most max_seq_len − 32 new tokens so a short context still sees its prompt.</summary>
    public static SamplingSettings SamplingFor(GptConfig config) => FormComplianceEvaluator.Sampling with
    {
        MaxNewTokens = Math.Max(1, Math.Min(FormComplianceEvaluator.Sampling.MaxNewTokens, config.MaxSeqLen - PromptRoom)),
    };

    /// <summary>The manifest keys every alignment stage records: compliance_before/after, form_score_before/after.</summary>
    public void AddTo(IDictionary<string, double> metrics)
    {
        metrics["compliance_before"] = Before.ComplianceRate;
        metrics["compliance_after"] = After.ComplianceRate;
        metrics["form_score_before"] = Before.MeanScore;
        metrics["form_score_after"] = After.MeanScore;
    }

    /// <summary>A Markdown page of both sets of answers (for samples.md beside the checkpoint).</summary>
    public string ToMarkdown(string title, int max = 8) =>
        $"# {title}\n\n" +
        $"Form compliance on {After.Samples} held-out prompts: {Before.ComplianceRate:P0} before → {After.ComplianceRate:P0} after " +
        $"(mean form score {Before.MeanScore:F2} → {After.MeanScore:F2}).\n\n" +
        $"## After\n\n{After.Format(max)}\n\n## Before\n\n{Before.Format(max)}\n";
}
