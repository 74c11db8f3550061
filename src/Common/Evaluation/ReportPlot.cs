namespace MiniLlmPipeline.Evaluation;

/// <summary>A PNG written next to report.md (file name relative to it) and its caption.</summary>
public sealed record ReportPlot(string FileName, string Title);
