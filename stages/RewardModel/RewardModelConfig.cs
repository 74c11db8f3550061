using MiniLlmPipeline.Pipeline;
using MiniLlmPipeline.Training;

namespace MiniLlmPipeline.Stages.RewardModel;

/// <summary><c>stages.reward_model</c>: Bradley–Terry reward model on preference pairs.</summary>
public sealed record RewardModelConfig : TrainingConfig, IStageConfig
{
    public string From { get; init; } = StageCatalog.Sft.Name;
    public required string Data { get; init; }
    public string? ValData { get; init; }

    public override bool HasValidationData => ValData is not null;
}
