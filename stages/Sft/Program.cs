using MiniLlmPipeline.Pipeline;
using MiniLlmPipeline.Stages.Sft;

// sft: supervised fine-tuning of the `from:` checkpoint on chat-formatted prompt/response (or messages) data.
return StageCli.Run(args, new StageDefinition<SftConfig>(
    StageNames.Sft,
    "Fine-tune a checkpoint to follow instructions (chat template, loss on assistant tokens only)",
    spec => spec.Stages.Sft,
    config => [("data", config.Data), ("val_data", config.ValData), ("eval_prompts", config.EvalPrompts)],
    config => [config.From],
    SftRecipe.Run));
