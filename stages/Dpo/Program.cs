using MiniLlmPipeline.Pipeline;
using MiniLlmPipeline.Stages.Dpo;

// dpo: Direct Preference Optimization of the from: checkpoint against a frozen copy of itself.
return StageCli.Run(args, new StageDefinition<DpoConfig>(
    StageNames.Dpo,
    "Align the policy to preference pairs with DPO (or IPO) against a frozen reference",
    spec => spec.Stages.Dpo,
    config => [("data", config.Data), ("val_data", config.ValData), ("eval_prompts", config.EvalPrompts)],
    config => [config.From],
    DpoRecipe.Run));
