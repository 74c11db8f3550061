using System.CommandLine;
using MiniLlmPipeline.Data;
using MiniLlmPipeline.IO;
using MiniLlmPipeline.Pipeline;
using MiniLlmPipeline.Stages.Explain;

// explain: one self-contained HTML page that looks inside completed stages' checkpoints — attention heat-maps, next-token
// distributions, a measured comparison of sampling strategies, the model's anatomy and the training story. Not a pipeline
// stage: it trains nothing and nothing downstream reads it.
var from = new Option<string[]>("--from") { Description = "Stages to explain, side by side (pretrain, sft, dpo, ppo, grpo)", AllowMultipleArgumentsPerToken = true, DefaultValueFactory = _ => [StageCatalog.Sft.Name] };
var prompt = new Option<string?>("--prompt") { Description = "The prompt whose attention and next-token distributions are shown (default: the first held-out form prompt)" };
var prompts = new Option<string?>("--prompts") { Description = "Held-out prompts with a 'form' column for the sampling comparison (default: stages.eval.prompts)" };
var samples = new Option<int>("--samples") { Description = "Form prompts each sampling strategy answers", DefaultValueFactory = _ => 16 };
var maxNew = new Option<int>("--max-new-tokens") { DefaultValueFactory = _ => 64 };
var output = new Option<string?>("--out") { Description = "Output folder (default runs/<pipeline>/explain/<stage>[-<stage>...]/)" };

var command = new RootCommand("Explain stages' checkpoints on one self-contained HTML page")
{
    StageCli.PipelineOption, StageCli.SetOption, StageCli.DeviceOption, from, prompt, prompts, samples, maxNew, output,
};
command.SetAction(parsed => StageCli.Guard("explain", () =>
{
    var specFile = parsed.GetValue(StageCli.PipelineOption)!;
    var spec = StageCli.LoadSpec(specFile, parsed.GetValue(StageCli.SetOption) ?? [], parsed.GetValue(StageCli.DeviceOption));
    // make passes FROM="sft grpo" as one argument.
    var stages = parsed.GetValue(from)!.SelectMany(s => s.Split(' ', StringSplitOptions.RemoveEmptyEntries)).Distinct().ToList();
    foreach (var stage in stages)
        if (StageCatalog.Find(stage) is not { Output: StageOutput.Policy })
            throw new StageInputException($"--from: '{stage}' is not a stage that leaves a language model ({string.Join(" | ", StageCatalog.All.Where(s => s.Output == StageOutput.Policy).Select(s => s.Name))})");
    if (stages.Count == 0) throw new StageInputException("--from: name at least one stage");
    if (parsed.GetValue(samples) < 1) throw new StageInputException("--samples: must be at least 1");
    if (parsed.GetValue(maxNew) < 1) throw new StageInputException("--max-new-tokens: must be at least 1");
    var promptsFile = parsed.GetValue(prompts) ?? spec.ConfigOf(StageCatalog.Eval)?.Prompts
        ?? throw new StageInputException($"{specFile}: stages.eval.prompts is not defined; pass --prompts");
    if (!File.Exists(promptsFile) && !Directory.Exists(promptsFile)) throw new StageInputException($"--prompts: data file not found: {promptsFile}");
    var options = new ExplainOptions(parsed.GetValue(prompt), promptsFile, parsed.GetValue(samples), parsed.GetValue(maxNew), spec.Seed);
    foreach (var stage in stages) RunFolders.CompletedStageDir(spec, stage, "explain");   // every checkpoint exists before the first is explained
    var outDir = parsed.GetValue(output) ?? Path.Combine(RunFolders.PipelineDir(spec), "explain", string.Join("-", stages));
    var path = ExplainRun.Write(spec, stages, options, outDir);
    Console.WriteLine(path);
    return StageCli.ExitOk;
}));
return command.Parse(args).Invoke();
