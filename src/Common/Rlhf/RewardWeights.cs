namespace MiniLlmPipeline.Rlhf;

/// <summary>PPO's score = model × reward-model score + form × poetry-form score.</summary>
public sealed record RewardWeights
{
    public double Model { get; init; } = 1.0;
    public double Form { get; init; }
}
