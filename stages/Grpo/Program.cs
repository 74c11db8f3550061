using MiniLlmPipeline.Pipeline;
using MiniLlmPipeline.Stages.Grpo;

// grpo: Group Relative Policy Optimization of the policy (from:, default sft) on the verifiable poetry reward.
return StageCli.Run(args, new StageProgram<GrpoConfig>(StageCatalog.Grpo)
{
    Description = "Align the policy with GRPO: groups of sampled answers per prompt, scored by the form checker (+ rhyme, + an optional reward model), KL-regularised toward its start",
    Execute = GrpoRecipe.Run,
});
