namespace MiniLlmPipeline.Stages.Explain;

/// <summary>One (kind, key) series of a stage's metrics.jsonl against the optimizer step, for the training-story charts.</summary>
internal sealed record MetricSeries(string Kind, string Key, double[] Steps, double[] Values);
