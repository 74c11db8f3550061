namespace MiniLlmPipeline.Evaluation;

/// <summary>Form-compliance of a model's answers: the rate of fully compliant poems, the mean graded score, and the answers.</summary>
public sealed record FormComplianceReport(int Samples, double ComplianceRate, double MeanScore, IReadOnlyList<FormAnswer> Answers)
{
    /// <summary>The answers as readable text (prompt, verdict, poem), for samples files and reports.</summary>
    public string Format(int max = 8) => string.Join("\n\n", Answers.Take(max).Select(a =>
        $"### {a.Prompt}  [{(a.Check.Compliant ? "ok" : "x")} {a.Check.Score:F2}]\n{a.Response}"));
}

/// <summary>One answer to a form prompt and its check.</summary>
public sealed record FormAnswer(string Prompt, string Form, string Response, FormCheck Check);
