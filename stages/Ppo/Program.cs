using MiniLlmPipeline.Pipeline;
using MiniLlmPipeline.Stages.Ppo;

// ppo: PPO-RLHF of the policy (from:, default sft) against the reward model, KL-penalised toward the frozen policy.
return StageCli.Run(args, new StageProgram<PpoConfig>(StageCatalog.Ppo)
{
    Description = "Align the policy with PPO against the reward model (+ an optional poetry-form reward), KL-penalised toward its start",
    Execute = PpoRecipe.Run,
});
