namespace MiniLlmPipeline.Rlhf;

/// <summary>The sequence-level score of each rollout row (a reward model, a rule, or both), placed on its last token by PPO.</summary>
public interface IRolloutReward
{
    /// <summary>Called without gradients, once per iteration, on the whole rollout.</summary>
    RolloutScores Score(RolloutBatch batch);
}
