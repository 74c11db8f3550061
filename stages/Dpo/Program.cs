using MiniLlmPipeline.Pipeline;
using MiniLlmPipeline.Stages.Dpo;

// dpo: Direct Preference Optimization of the from: checkpoint against a frozen copy of itself.
return StageCli.Run(args, new StageProgram<DpoConfig>(StageCatalog.Dpo)
{
    Description = "Align the policy to preference pairs with DPO (or IPO) against a frozen reference",
    Execute = DpoRecipe.Run,
});
