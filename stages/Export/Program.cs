using System.CommandLine;
using MiniLlmPipeline.Pipeline;
using MiniLlmPipeline.Stages.Export;

// export: a completed stage's checkpoint as a GGUF file for llama.cpp / Ollama / LM Studio, or a Hugging Face folder
// for transformers / TRL / torchtune. Not a pipeline stage: it trains nothing and nothing downstream reads it.
var from = new Option<string>("--from") { Description = "Stage whose checkpoint to export (pretrain, sft, dpo, ppo, ...)", DefaultValueFactory = _ => StageCatalog.Sft.Name };
var format = new Option<string>("--format") { Description = "gguf | hf", DefaultValueFactory = _ => "gguf" };
var quant = new Option<string?>("--quant") { Description = "GGUF weight type: f32 | f16 | q8_0 (default f16; a Hugging Face folder is f32)" };
var output = new Option<string?>("--out") { Description = "Output folder (default runs/<pipeline>/export/<stage>/)" };

var command = new RootCommand("Export a stage's checkpoint as GGUF (llama.cpp) or a Hugging Face folder")
{
    StageCli.PipelineOption, StageCli.SetOption, from, format, quant, output,
};
command.SetAction(parsed => StageCli.Guard("export", () =>
{
    var spec = StageCli.LoadSpec(parsed.GetValue(StageCli.PipelineOption)!, parsed.GetValue(StageCli.SetOption) ?? [], device: null);
    var stage = parsed.GetValue(from)!;
    var exportFormat = ExportOptions.ParseFormat(parsed.GetValue(format)!);
    var exportQuant = parsed.GetValue(quant) is { } q ? ExportOptions.ParseQuant(q) : exportFormat == ExportFormat.Gguf ? ExportQuant.F16 : ExportQuant.F32;
    var stageDir = RunFolders.CompletedStageDir(spec, stage, "export");
    var outDir = parsed.GetValue(output) ?? Path.Combine(RunFolders.PipelineDir(spec), "export", stage);
    var result = Exporter.Run(stageDir, outDir, $"{spec.Name}-{stage}", exportFormat, exportQuant);
    Console.Error.WriteLine($"export: wrote {result.Path} ({result.Bytes / 1024.0 / 1024.0:F2} MiB) in {result.Elapsed.TotalSeconds:F2} s");
    Console.WriteLine(result.Path);
    return StageCli.ExitOk;
}));
return command.Parse(args).Invoke();
