using System.Globalization;

namespace MiniLlmPipeline.Evaluation;

/// <summary>One answer to a form prompt and its check.</summary>
public sealed record FormAnswer(string Prompt, string Form, string Response, FormCheck Check)
{
    /// <summary>"ok 1.00" for a compliant poem, else "x" and the graded score.</summary>
    public string Verdict => $"{(Check.Compliant ? "ok" : "x")} {Check.Score.ToString("F2", CultureInfo.InvariantCulture)}";
}
