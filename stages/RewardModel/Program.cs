using MiniLlmPipeline.Pipeline;
using MiniLlmPipeline.Stages.RewardModel;

// reward-model: a scalar head on the from: checkpoint, trained with Bradley–Terry on preference pairs.
return StageCli.Run(args, new StageProgram<RewardModelConfig>(StageCatalog.RewardModel)
{
    Description = "Train a reward model (trunk + scalar head) on prompt/chosen/rejected preference pairs",
    Execute = RewardModelRecipe.Run,
});
