namespace MiniLlmPipeline.Stages.Ppo;

/// <summary>
/// One finished PPO iteration: its <c>ppo</c> metrics (reward, KL, losses, speed) and the rollout it trained on
/// (prompt indices, response ids, total scores) for sample printing.
/// </summary>
public sealed record PpoIterationSummary(
    int Iteration,
    IReadOnlyDictionary<string, double> Metrics,
    IReadOnlyList<int> PromptIndices,
    IReadOnlyList<int[]> Responses,
    IReadOnlyList<float> Scores);
