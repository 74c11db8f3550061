using MiniLlmPipeline.Pipeline;
using MiniLlmPipeline.Stages.Distill;

// distill: a smaller student (its own model: block) learns a teacher stage's next-token distributions (Hinton et al. 2015).
return StageCli.Run(args, new StageProgram<DistillConfig>(StageCatalog.Distill)
{
    Description = "Distil a teacher stage into a smaller student: KL to the teacher's softened next-token distributions plus the data's cross-entropy",
    Execute = DistillRecipe.Run,
});
