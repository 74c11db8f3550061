using MiniLlmPipeline.Pipeline;
using MiniLlmPipeline.Stages.Ppo;

// ppo: PPO-RLHF of the policy (from:, default sft) against the reward model, KL-penalised toward the frozen policy.
return StageCli.Run(args, new StageDefinition<PpoConfig>(
    StageNames.Ppo,
    "Align the policy with PPO against the reward model (+ an optional poetry-form reward), KL-penalised toward its start",
    spec => spec.Stages.Ppo,
    config => [("prompts", config.Prompts), ("eval_prompts", config.EvalPrompts)],
    config => [config.From, config.RewardModel],
    PpoRecipe.Run));
