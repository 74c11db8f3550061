namespace MiniLlmPipeline.Rlhf;

/// <summary>Each row's total score, and per-iteration means of its parts for the log (e.g. <c>reward_model_mean</c>).</summary>
public sealed record RolloutScores(float[] Total, IReadOnlyDictionary<string, double> Parts);
