using MiniLlmPipeline.Pipeline;
using MiniLlmPipeline.Stages.Tokenize;

// tokenize: train the byte-level BPE on stages.tokenize.data, write tokenizer/, train.bin and val.bin.
return StageCli.Run(args, new StageProgram<TokenizeConfig>(StageCatalog.Tokenize)
{
    Description = "Train a byte-level BPE tokenizer on the pretraining text and encode the text for pretraining",
    Execute = TokenizeRecipe.Run,
    UsesTorch = false,
});
