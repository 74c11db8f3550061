using MiniLlmPipeline.Data;
using MiniLlmPipeline.Evaluation;
using MiniLlmPipeline.Generation;
using MiniLlmPipeline.IO;
using MiniLlmPipeline.Rlhf;

namespace MiniLlmPipeline.Pipeline;

/// <summary>
/// The before/after form-compliance check every alignment stage runs on its <c>eval_prompts</c> (a
/// <see cref="ComplianceComparison"/>): logged, recorded in the manifest, and written as Markdown in the stage folder.
/// </summary>
public static class StageComplianceCheck
{
    /// <summary>
    /// An RL stage's prompts: those of <paramref name="promptsFile"/> it trains on, and the held-out ones of
    /// <paramref name="evalPromptsFile"/> its before/after check answers (null when it has none or
    /// <paramref name="evalSamples"/> is 0). Training leaves out every held-out prompt the check or eval answers.
    /// </summary>
    public static (IReadOnlyList<PromptExample> Training, IReadOnlyList<PromptExample>? HeldOut) RlPrompts<TConfig>(
        StageContext<TConfig> context, string promptsFile, string? evalPromptsFile, int evalSamples) where TConfig : class
    {
        var heldOut = evalPromptsFile is null || evalSamples == 0 ? null
            : ParquetDatasets.ReadPrompts(evalPromptsFile, FormComplianceEvaluator.FormColumn);
        var training = PromptSet.WithoutHeldOut(promptsFile, heldOut, HeldOutCount(context, evalPromptsFile, evalSamples), context.Log);
        return (training, heldOut);
    }

    /// <summary>
    /// How many form prompts of <paramref name="evalPrompts"/> an RL stage keeps out of its training prompts: those its own
    /// check answers (<paramref name="evalSamples"/>), or all that eval answers when eval reads the same file, so every
    /// compliance figure of the report stays a held-out one.
    /// </summary>
    private static int HeldOutCount<TConfig>(StageContext<TConfig> context, string? evalPrompts, int evalSamples) where TConfig : class =>
        context.Spec.ConfigOf(StageCatalog.Eval) is { } eval && eval.Prompts == evalPrompts ? Math.Max(evalSamples, eval.Samples) : evalSamples;

    /// <summary>
    /// Form compliance of the model an alignment stage starts from (its <c>from:</c> stage <paramref name="from"/>), logged;
    /// null when the stage measures none (no eval prompts).
    /// </summary>
    public static FormComplianceReport? MeasureBefore<TConfig>(StageContext<TConfig> context, TextGenerator generator,
        IReadOnlyList<PromptExample>? prompts, int samples, string from) where TConfig : class
    {
        if (prompts is null) return null;
        var before = ComplianceComparison.Measure(generator, prompts, samples, context.Spec.Seed);
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
        var comparison = new ComplianceComparison(before, ComplianceComparison.Measure(generator, prompts, samples, context.Spec.Seed));
        comparison.AddTo(metrics);
        AtomicFile.WriteAllText(Path.Combine(context.StageDir, fileName), comparison.ToMarkdown(title));
        context.Log($"form compliance: {before.ComplianceRate:P0} before → {comparison.After.ComplianceRate:P0} after " +
                    $"(score {before.MeanScore:F2} → {comparison.After.MeanScore:F2})");
    }

}
