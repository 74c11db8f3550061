using MiniLlmPipeline.Evaluation;
using MiniLlmPipeline.Pipeline;

// eval: measure every completed stage on held-out data; write runs/<pipeline>/report.md, report.json and figures.
return StageCli.Run(args, EvalStage.Definition);
