using System.CommandLine;
using MiniLlmPipeline.Bench;

// make bench: measures matmul throughput, pretraining speed/MFU, generation, tokenizer, Parquet reads
// and per-stage memory in one run on this machine; prints a table and writes results.json.
var outOption = new Option<string>("--out") { Description = "Where to write the results (JSON)", DefaultValueFactory = _ => "bench/results.json" };
var quickOption = new Option<bool>("--quick") { Description = "Short smoke run: fewer repeats, 32 generated tokens" };
var onlyOption = new Option<string?>("--only") { Description = $"Run one section: {string.Join(" | ", BenchRunner.Sections)}" };
var dataOption = new Option<string>("--data") { Description = "Folder of the Tang datasets", DefaultValueFactory = _ => "data/tang" };
var runOption = new Option<string>("--run-dir") { Description = "Run folder whose manifests give peak RSS per stage", DefaultValueFactory = _ => "runs/tang-poetry" };
var scalesOption = new Option<string>("--scales") { Description = "Corpus sizes of the scale section, multiples of the shipped corpus", DefaultValueFactory = _ => "1,10,50" };
var command = new RootCommand("MiniLlmPipeline benchmarks") { outOption, quickOption, onlyOption, dataOption, runOption, scalesOption };
command.SetAction(parsed => BenchRunner.Run(
    new BenchOptions(parsed.GetValue(quickOption), parsed.GetValue(onlyOption), parsed.GetValue(dataOption)!, parsed.GetValue(runOption)!)
    {
        Scales = [.. parsed.GetValue(scalesOption)!.Split(',').Select(int.Parse)],
    },
    parsed.GetValue(outOption)!));
return command.Parse(args).Invoke();
