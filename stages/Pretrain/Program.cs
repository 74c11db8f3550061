using MiniLlmPipeline.Pipeline;
using MiniLlmPipeline.Stages.Pretrain;

// pretrain: next-token prediction on the tokenize stage's corpus (or on --set pretrain.data=<text.parquet>).
return StageCli.Run(args, new StageDefinition<PretrainConfig>(
    StageNames.Pretrain,
    "Pretrain the GPT by next-token prediction on the tokenized corpus",
    spec => spec.Stages.Pretrain,
    config => [("data", config.Data), ("val_data", config.ValData)],
    config => [config.From],
    PretrainRecipe.Run));
