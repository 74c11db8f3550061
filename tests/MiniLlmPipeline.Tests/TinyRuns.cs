using MiniLlmPipeline.Pipeline;

using System.Collections.Concurrent;

namespace MiniLlmPipeline.Tests;

/// <summary>
/// Completed runs of pipelines/tiny.yaml up to a given stage, built once per test process and handed to each
/// test as a private copy, so the stage tests share the cost of the upstream stages but never each other's files.
/// The chain is the catalog's first stages, tokenize → pretrain → sft → reward_model (each built on a copy of the previous run).
/// </summary>
public static class TinyRuns
{
    public const string Spec = "pipelines/tiny.yaml";

    private static readonly IReadOnlyList<IStage> Chain = StageCatalog.All.TakeWhile(s => s != StageCatalog.Dpo).ToList();

    private static readonly ConcurrentDictionary<string, Lazy<string>> Built = new();

    /// <summary>Copies a run folder holding complete stages up to <paramref name="stage"/> into <paramref name="runDir"/>.</summary>
    public static void CopyUpTo(string stage, string runDir) => CopyDirectory(Template(stage), runDir);

    /// <summary>Runs a built stage program on the tiny spec with its run folder at <paramref name="runDir"/>.</summary>
    public static StageProcess.Result Run(IStage stage, string runDir, params string[] extra) =>
        StageProcess.Run(stage, ["--pipeline", Spec, "--set", $"run_dir={runDir}", .. extra]);

    /// <summary><see cref="Run(IStage, string, string[])"/> with <paramref name="environment"/> added to the process's environment.</summary>
    public static StageProcess.Result Run(IStage stage, string runDir, IReadOnlyDictionary<string, string> environment, params string[] extra) =>
        StageProcess.Start(stage, environment, ["--pipeline", Spec, "--set", $"run_dir={runDir}", .. extra]).Wait();

    /// <summary>Starts a stage program without waiting (to kill it, or to race a second run against it).</summary>
    public static StageProcess.Running Start(IStage stage, string runDir, params string[] extra) =>
        StageProcess.Start(stage, ["--pipeline", Spec, "--set", $"run_dir={runDir}", .. extra]);

    private static string Template(string stage)
    {
        var index = Chain.ToList().FindIndex(c => c.Name == stage);
        if (index < 0) throw new ArgumentException($"no tiny template for stage '{stage}'", nameof(stage));
        return Built.GetOrAdd(stage, _ => new Lazy<string>(() =>
        {
            var dir = Path.Combine(Path.GetTempPath(), $"mlp-tiny-{Environment.ProcessId}-{stage}");
            if (Directory.Exists(dir)) Directory.Delete(dir, recursive: true);
            if (index > 0) CopyDirectory(Template(Chain[index - 1].Name), dir);
            var result = Run(Chain[index], dir);
            if (result.ExitCode != 0) throw new InvalidOperationException($"tiny {stage} failed:\n{result}");
            return dir;
        })).Value;
    }

    private static void CopyDirectory(string from, string to)
    {
        Directory.CreateDirectory(to);
        foreach (var file in Directory.EnumerateFiles(from, "*", SearchOption.AllDirectories))
        {
            var relative = Path.GetRelativePath(from, file);
            if (Path.GetFileName(file) == ".lock") continue;
            var target = Path.Combine(to, relative);
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            File.Copy(file, target, overwrite: true);
        }
    }
}
