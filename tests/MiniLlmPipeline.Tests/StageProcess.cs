using MiniLlmPipeline.Pipeline;
using System.Diagnostics;

namespace MiniLlmPipeline.Tests;

/// <summary>
/// Runs a stage program as a real process (as make does), from the repository root so the
/// pipelines' relative data paths resolve, and captures its exit code and output.
/// </summary>
public static class StageProcess
{
    public sealed record Result(int ExitCode, string StdOut, string StdErr)
    {
        public override string ToString() => $"exit {ExitCode}\n--- stdout\n{StdOut}\n--- stderr\n{StdErr}";
    }

    /// <summary>Path of a built stage program (artifacts/bin/&lt;Project&gt;/&lt;config&gt;/&lt;name&gt;.dll), in the configuration the tests were built in.</summary>
    public static string Dll(IStage stage) => Dll(stage.Project, stage.Name);

    /// <summary>Path of a built program that is not a stage (generate, export).</summary>
    public static string Dll(string project, string assembly)
    {
        var config = AppContext.BaseDirectory.Contains("/release/", StringComparison.Ordinal) ? "release" : "debug";
        var path = RepoPaths.Under("artifacts", "bin", project, config, assembly + ".dll");
        if (!File.Exists(path)) throw new FileNotFoundException($"stage not built: {path} (build the solution first)");
        return path;
    }

    public static Result Run(IStage stage, params string[] args) => Start(stage, args).Wait();

    public static Running Start(IStage stage, params string[] args) => Start(stage, new Dictionary<string, string>(), args);

    /// <summary>Starts a stage program with <paramref name="environment"/> added to its environment.</summary>
    public static Running Start(IStage stage, IReadOnlyDictionary<string, string> environment, params string[] args) =>
        Start(Dll(stage), environment, args);

    /// <summary>Runs a built program that is not a stage (<see cref="Dll(string, string)"/>) to its end.</summary>
    public static Result RunProgram(string project, string assembly, params string[] args) =>
        Start(Dll(project, assembly), new Dictionary<string, string>(), args).Wait();

    private static Running Start(string dll, IReadOnlyDictionary<string, string> environment, string[] args)
    {
        var info = new ProcessStartInfo("dotnet") { WorkingDirectory = RepoPaths.Root, RedirectStandardOutput = true, RedirectStandardError = true };
        info.ArgumentList.Add(dll);
        foreach (var a in args) info.ArgumentList.Add(a);
        info.Environment["CI"] = "1";   // plain log lines, no live progress bar
        // Tests run in parallel on few cores: one intra-op thread per stage process avoids oversubscription stalls.
        info.Environment["OMP_NUM_THREADS"] = "1";
        info.Environment["MINILLM_THREADS"] = "1";   // TorchRuntime's choice, fixed so reruns compute identically
        foreach (var (name, value) in environment) info.Environment[name] = value;
        var process = Process.Start(info)!;
        return new Running(process);
    }

    public sealed class Running(Process process)
    {
        private readonly Task<string> _out = process.StandardOutput.ReadToEndAsync();
        private readonly Task<string> _err = process.StandardError.ReadToEndAsync();

        public Process Process => process;

        /// <summary>
        /// Polls until <paramref name="path"/> exists, the process has exited, or <paramref name="timeoutSeconds"/> pass
        /// (callers then check which, e.g. that the process is still running before killing it).
        /// </summary>
        public void WaitForFile(string path, int timeoutSeconds = 120)
        {
            var deadline = DateTime.UtcNow.AddSeconds(timeoutSeconds);
            while (!File.Exists(path) && !process.HasExited && DateTime.UtcNow < deadline) Thread.Sleep(20);
        }

        public Result Wait(int timeoutSeconds = 300)
        {
            if (!process.WaitForExit(timeoutSeconds * 1000))
            {
                process.Kill(entireProcessTree: true);
                throw new TimeoutException($"stage did not finish in {timeoutSeconds}s");
            }
            return new Result(process.ExitCode, _out.Result, _err.Result);
        }

        public void Kill()
        {
            process.Kill(entireProcessTree: true);
            process.WaitForExit();
        }
    }
}
