using System.Diagnostics;
using MiniLlmPipeline.Data;
using MiniLlmPipeline.Pipeline;

namespace MiniLlmPipeline.Bench;

/// <summary>
/// Data at size: the shipped pretraining corpus synthesised at k× (k shards, each a copy of the corpus with its
/// documents in a different seeded order; written to a temp folder, deleted afterwards), run through the real
/// tokenize stage and 50 pretraining steps as processes, so each size's peak RSS is its own process's. Shows
/// whether tokenize time grows linearly (MB/s flat) and memory stays flat. Repeating the corpus keeps the set of
/// distinct pre-tokens (what BPE training memory grows with) that of 1×; a genuinely larger vocabulary of words
/// grows it, which <c>bpe_sample_mb</c> caps. Pretraining runs the default model at batch 8 with 2 eval batches: its
/// step does not depend on the corpus size, only its memory-mapped reader might, and that is what the rows check.
/// </summary>
internal static class ScaleBench
{
    public const string Section = "scale";

    public static IEnumerable<Measurement> Run(BenchOptions options)
    {
        var source = Path.Combine(options.DataDir, "pretrain.parquet");
        var documents = ParquetDatasets.ReadText(source).ToArray();
        var root = Directory.CreateTempSubdirectory("mlp-scale-").FullName;
        try
        {
            foreach (var scale in options.Quick ? [1, 2] : options.Scales)
            {
                var corpus = Path.Combine(root, $"corpus-{scale}x");
                Directory.CreateDirectory(corpus);
                for (var copy = 0; copy < scale; copy++)
                {
                    var shuffled = (string[])documents.Clone();
                    if (copy > 0) new Random(copy).Shuffle(shuffled);
                    ParquetDatasets.WriteStrings(Path.Combine(corpus, $"train-{copy:D5}.parquet"), [("text", shuffled)]);
                }
                var run = Path.Combine(root, $"run-{scale}x");
                string[] spec =
                [
                    "--pipeline", "pipelines/tang-poetry.yaml", "--set", $"run_dir={run}", "--set", $"tokenize.data={corpus}/*.parquet",
                    "--set", "pretrain.steps=50", "--set", "pretrain.warmup_steps=5", "--set", "pretrain.eval_every=50",
                    "--set", "pretrain.checkpoint_every=50", "--set", "pretrain.batch_size=8", "--set", "pretrain.eval_batches=2",
                ];
                var tokenize = RunStage("Tokenize", "tokenize", spec, run);
                var pretrain = RunStage("Pretrain", "pretrain", spec, run);
                var megabytes = tokenize.Metrics["text_mb"];
                var label = $"{scale}x ({megabytes:F0} MB, {Directory.GetFiles(corpus).Length} shards)";
                yield return new(Section, $"{label} tokenize wall", tokenize.Seconds, "s", "tokenize stage process: BPE training + encoding train and val");
                yield return new(Section, $"{label} tokenize throughput", megabytes / tokenize.Seconds, "MB/s", "training text MB / tokenize wall time");
                yield return new(Section, $"{label} tokenize peak RSS", tokenize.Metrics["peak_rss_mb"], "MB", "VmHWM of the tokenize process");
                yield return new(Section, $"{label} pretrain 50 steps wall", pretrain.Seconds, "s", "pretrain stage process on that token file (batch 8)");
                yield return new(Section, $"{label} pretrain peak RSS", pretrain.Metrics.GetValueOrDefault("peak_rss_mb"), "MB", "pretrain manifest's peak_rss_mb");
                Directory.Delete(corpus, recursive: true);
                Directory.Delete(run, recursive: true);
            }
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }

    private sealed record StageRun(double Seconds, IReadOnlyDictionary<string, double> Metrics);

    /// <summary>Runs a built stage program (artifacts/bin/&lt;Project&gt;/&lt;config&gt;/, next to this bench's folder) and reads its manifest.</summary>
    private static StageRun RunStage(string project, string name, string[] args, string runDir)
    {
        var config = new DirectoryInfo(AppContext.BaseDirectory).Name;
        var dll = Path.GetFullPath(Path.Combine(AppContext.BaseDirectory, "..", "..", project, config, $"{name}.dll"));
        var start = new ProcessStartInfo("dotnet") { RedirectStandardError = true, RedirectStandardOutput = true };
        start.ArgumentList.Add(dll);
        foreach (var arg in args) start.ArgumentList.Add(arg);
        var clock = Stopwatch.StartNew();
        using var process = Process.Start(start)!;
        var stderr = process.StandardError.ReadToEndAsync();
        process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        var seconds = clock.Elapsed.TotalSeconds;
        if (process.ExitCode != 0) throw new InvalidOperationException($"{name} failed (exit {process.ExitCode}):\n{stderr.Result}");
        var manifest = Manifest.TryRead(Path.Combine(runDir, name)) ?? throw new InvalidOperationException($"{name}: no manifest in {runDir}");
        return new StageRun(seconds, manifest.Metrics ?? new Dictionary<string, double>());
    }
}
