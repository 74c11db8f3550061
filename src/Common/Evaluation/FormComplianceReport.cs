namespace MiniLlmPipeline.Evaluation;

/// <summary>
/// Form-compliance of a model's answers: the rate of fully compliant poems, the mean graded score, the answers, and
/// the fraction whose even verses rhyme (<see cref="FormCheck.Rhymes"/>, reported beside compliance, not part of it), and
/// the answers' mean share of repeated characters (<see cref="CharacterRepetition"/>: what compliance cannot see).
/// </summary>
public sealed record FormComplianceReport(int Samples, double ComplianceRate, double MeanScore, IReadOnlyList<FormAnswer> Answers,
    double RhymeRate = 0, double RepeatedShare = 0)
{
    public static FormComplianceReport Empty { get; } = new(0, 0, 0, []);

    /// <summary>The answers as readable text (prompt, verdict, poem), for samples files and reports.</summary>
    public string Format(int max = 8) => string.Join("\n\n", Answers.Take(max).Select(a => $"### {a.Prompt}  [{a.Verdict}]\n{a.Response}"));
}
