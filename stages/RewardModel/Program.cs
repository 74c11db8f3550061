using MiniLlmPipeline.Pipeline;
using MiniLlmPipeline.Stages.RewardModel;

// reward-model: a scalar head on the from: checkpoint, trained with Bradley–Terry on preference pairs.
return StageCli.Run(args, new StageDefinition<RewardModelConfig>(
    StageNames.RewardModel,
    "Train a reward model (trunk + scalar head) on prompt/chosen/rejected preference pairs",
    spec => spec.Stages.RewardModel,
    config => [("data", config.Data), ("val_data", config.ValData)],
    config => [config.From],
    RewardModelRecipe.Run));
