using MiniLlmPipeline.Pipeline;
using MiniLlmPipeline.Stages.Pretrain;

// pretrain: next-token prediction on the tokenize stage's corpus (or on --set pretrain.data=<text.parquet>).
return StageCli.Run(args, new StageProgram<PretrainConfig>(StageCatalog.Pretrain)
{
    Description = "Pretrain the GPT by next-token prediction on the tokenized corpus",
    Execute = PretrainRecipe.Run,
});
