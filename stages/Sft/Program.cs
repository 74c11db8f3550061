using MiniLlmPipeline.Pipeline;
using MiniLlmPipeline.Stages.Sft;

// sft: supervised fine-tuning of the `from:` checkpoint on chat-formatted prompt/response (or messages) data.
return StageCli.Run(args, new StageProgram<SftConfig>(StageCatalog.Sft)
{
    Description = "Fine-tune a checkpoint to follow instructions (chat template, loss on assistant tokens only)",
    Execute = SftRecipe.Run,
});
