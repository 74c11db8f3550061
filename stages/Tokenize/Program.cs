using MiniLlmPipeline.Pipeline;
using MiniLlmPipeline.Tokenization;

// tokenize: train the byte-level BPE on stages.tokenize.data, write tokenizer/, train.bin and val.bin.
return StageCli.Run(args, TokenizeStage.Definition);
