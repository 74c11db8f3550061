namespace MiniLlmPipeline.Evaluation;

/// <summary>A prompt, what a stage's model answered, and the verdict of the form checker (e.g. "ok 1.00", "x 0.40").</summary>
public sealed record ReportSample(string Prompt, string Response, string? Verdict);
