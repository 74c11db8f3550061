using MiniLlmPipeline.Data;
using MiniLlmPipeline.Generation;
using TorchSharp;

namespace MiniLlmPipeline.Evaluation;

/// <summary>
/// The verifiable metric every post-pretraining stage is judged by: answer held-out prompts that ask for
/// a poem of a given form (五绝/七绝/五律/七律, the prompt row's <c>form</c> column) and check the answers
/// with <see cref="PoetryFormChecker"/>. Fixed sampling settings and seed, so numbers are comparable
/// between stages and runs.
/// </summary>
public static class FormComplianceEvaluator
{
    /// <summary>The column of a prompts file naming the form a prompt asks for.</summary>
    public const string FormColumn = "form";

    /// <summary>The sampling every stage is measured with (the eval stage's defaults).</summary>
    public static readonly SamplingSettings Sampling = new() { MaxNewTokens = 96, Temperature = 0.7, TopP = 0.9 };

    /// <summary>
    /// The prompts <see cref="Evaluate"/> answers: the first <paramref name="samples"/> that name a form. PPO holds
    /// these out of its rollouts, so the rule lives here once.
    /// </summary>
    public static IReadOnlyList<PromptExample> FormPrompts(IReadOnlyList<PromptExample> prompts, int samples) =>
        prompts.Where(p => p.Get(FormColumn) is not null).Take(samples).ToList();

    /// <summary>
    /// Answers the first <paramref name="samples"/> prompts that name a form and grades them; an empty
    /// report when no prompt names one. The same seed and <paramref name="batchSize"/> give the same answers;
    /// larger batches are faster on a CPU, where each decoding step's fixed cost dominates.
    /// </summary>
    public static FormComplianceReport Evaluate(TextGenerator generator, IReadOnlyList<PromptExample> prompts, int samples, int seed,
        SamplingSettings? sampling = null, int batchSize = 16)
    {
        var chosen = FormPrompts(prompts, samples);
        if (chosen.Count == 0) return FormComplianceReport.Empty;
        var responses = generator.Complete(chosen.Select(p => p.Prompt).ToList(), sampling ?? Sampling, new torch.Generator((ulong)seed), batchSize);
        var answers = chosen.Zip(responses, (p, r) => new FormAnswer(p.Prompt, p.Get(FormColumn)!, r, PoetryFormChecker.Check(p.Get(FormColumn)!, r))).ToList();
        return new FormComplianceReport(answers.Count, answers.Average(a => a.Check.Compliant ? 1.0 : 0.0), answers.Average(a => a.Check.Score), answers,
            answers.Average(a => a.Check.Rhymes ? 1.0 : 0.0), CharacterRepetition.Mean(answers.Select(a => a.Response)));
    }
}
