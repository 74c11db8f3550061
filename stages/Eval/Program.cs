using MiniLlmPipeline.Pipeline;
using MiniLlmPipeline.Stages.Eval;

// eval: measure every completed stage on held-out data; write runs/<pipeline>/report.md, report.json and figures.
return StageCli.Run(args, new StageProgram<EvalConfig>(StageCatalog.Eval)
{
    Description = "Compare every completed stage on held-out data and write runs/<pipeline>/report.md",
    Execute = EvalRecipe.Run,
    Epilogue = (spec, _) => $"report: {EvalRecipe.ReportPath(spec)}",
});
