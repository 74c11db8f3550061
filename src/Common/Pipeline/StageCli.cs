using MiniLlmPipeline.Data;
using System.CommandLine;
using System.Diagnostics;
using MiniLlmPipeline.IO;
using MiniLlmPipeline.Model;
using MiniLlmPipeline.Training;

namespace MiniLlmPipeline.Pipeline;

/// <summary>
/// The shared command line and lifecycle of every stage program:
/// <c>&lt;stage&gt; --pipeline x.yaml [--set k=v]... [--force] [--no-resume] [--device auto|cpu|cuda] [--skip-undefined]</c>.
/// Loads and validates the spec, skips the stage when it is up to date, holds the stage lock,
/// marks the manifest running → complete/failed, and maps errors to exit codes
/// (0 ok or up to date, 1 bad input or config, 2 runtime failure).
/// </summary>
public static class StageCli
{
    public const int ExitOk = 0;
    public const int ExitBadInput = 1;
    public const int ExitRuntimeFailure = 2;
    /// <summary>The input hash recorded for an optional upstream stage without a complete checkpoint.</summary>
    public const string NotRun = "not run";

    public static readonly Option<string> PipelineOption = new("--pipeline", "-p")
    {
        Description = "Pipeline spec (YAML) naming data, model and hyper-parameters",
        DefaultValueFactory = _ => "pipelines/tang-poetry.yaml",
    };
    public static readonly Option<string[]> SetOption = new("--set")
    {
        Description = "Override a spec key, e.g. --set sft.lr=5e-5 (repeatable)",
        DefaultValueFactory = _ => [],
    };
    public static readonly Option<string?> DeviceOption = new("--device") { Description = "auto | cpu | cuda (overrides the spec)" };

    public static int Run<TConfig>(string[] args, StageProgram<TConfig> program) where TConfig : class, IStageConfig
    {
        var force = new Option<bool>("--force") { Description = "Run even if the stage is up to date" };
        var noResume = new Option<bool>("--no-resume") { Description = "Start from scratch instead of resuming from state/" };
        // make passes it to the upstream stages of a target: a pipeline that leaves a stage out (the distillation spec has
        // no reward model) still runs `make eval`, while `make reward_model` on it says the stage is not defined.
        var skipUndefined = new Option<bool>("--skip-undefined") { Description = "Exit 0 without running when the spec does not define this stage" };
        var command = new RootCommand(program.Description) { PipelineOption, SetOption, DeviceOption, force, noResume, skipUndefined };
        command.SetAction(parsed => Execute(program,
            parsed.GetValue(PipelineOption)!, parsed.GetValue(SetOption) ?? [], parsed.GetValue(DeviceOption),
            parsed.GetValue(force), !parsed.GetValue(noResume), parsed.GetValue(skipUndefined)));
        return command.Parse(args).Invoke();
    }

    /// <summary>
    /// Loads a spec with overrides and the device (stages, and programs that are not stages: generate),
    /// after setting libtorch's threads (<see cref="TorchRuntime.Configure"/>): every program passes here first.
    /// </summary>
    public static PipelineSpec LoadSpec(string specFile, string[] overrides, string? device, bool usesTorch = true)
    {
        // A stage that never touches a tensor (tokenize) does not load libtorch: its ~130 MB of resident code would be
        // most of that stage's memory.
        if (usesTorch) TorchRuntime.Configure();
        var spec = PipelineSpecLoader.Load(specFile, overrides);
        return device is null ? spec : spec with { Device = device };
    }

    /// <summary>Runs <paramref name="body"/> and turns user errors into one line on stderr.</summary>
    public static int Guard(string name, Func<int> body)
    {
        try { return body(); }
        catch (UserInputException e)
        {
            Console.Error.WriteLine($"{name}: error: {e.Message}");
            return ExitBadInput;
        }
        catch (TrainingDivergedException e)
        {
            Console.Error.WriteLine($"{name}: error: {e.Message}");
            return ExitRuntimeFailure;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // Unwritable run folder, disk full, a file vanishing under us: the user's environment, not a bug.
            Console.Error.WriteLine($"{name}: error: cannot read or write a file: {e.Message}");
            return ExitBadInput;
        }
        catch (Exception e)
        {
            // A bug: crash loudly (full stack trace), but with the documented exit code for runtime failures.
            Console.Error.WriteLine($"{name}: internal error: {e}");
            return ExitRuntimeFailure;
        }
    }

    private static int Execute<TConfig>(StageProgram<TConfig> program, string specFile, string[] overrides,
        string? deviceOverride, bool force, bool allowResume, bool skipUndefined) where TConfig : class, IStageConfig => Guard(program.Stage.Name, () =>
    {
        var stage = program.Stage;
        var spec = LoadSpec(specFile, overrides, deviceOverride, program.UsesTorch);
        var config = spec.ConfigOf(stage);
        if (config is null && skipUndefined)
        {
            Console.Error.WriteLine($"[{stage.Name}] not defined in {specFile}; skipped");
            return ExitOk;
        }
        if (config is null) throw new PipelineConfigException($"{specFile}: stages.{stage.Name} is not defined, so this stage cannot run");

        var inputs = new SortedDictionary<string, string>(StringComparer.Ordinal);
        foreach (var (key, path) in stage.DataFiles(config))
        {
            if (path is null) continue;
            if (!File.Exists(path) && !Directory.Exists(path) && !DatasetShards.IsPattern(path))
                throw new StageInputException($"{specFile}: stages.{stage.Name}.{key}: data file not found: {path}");
            // A folder or glob of shards: every shard is an input, so adding, removing or changing one reruns the stage.
            IReadOnlyList<string> shards;
            try { shards = DatasetShards.Resolve(path); }
            catch (DatasetException e) { throw new StageInputException($"{specFile}: stages.{stage.Name}.{key}: {e.Message}"); }
            foreach (var shard in shards) inputs[shard] = ContentHash.OfFile(shard);
        }
        foreach (var reference in stage.References(config))
        {
            if (reference.Optional)
            {
                var manifest = Manifest.TryRead(RunFolders.StageDir(spec, reference.Stage));
                inputs[$"stage:{reference.Stage}"] = manifest?.Status == StageStatus.Complete ? manifest.OutputHash ?? "" : NotRun;
                continue;
            }
            if (HfModelFolder.FolderOf(reference.Stage) is { } folder)
            {
                // A Hugging Face folder has no manifest: its files' contents are the input.
                foreach (var file in HfModelFolder.InputFiles(folder)) inputs[$"{reference.Stage}/{Path.GetFileName(file)}"] = ContentHash.OfFile(file);
                continue;
            }
            var dir = RunFolders.CompletedStageDir(spec, reference.Stage, stage.Name, where: $"{specFile}: stages.{stage.Name}.{reference.Key}");
            inputs[$"stage:{reference.Stage}"] = Manifest.TryRead(dir)!.OutputHash ?? "";
        }
        var specHash = ContentHash.OfConfig(new { config, spec.Model, spec.Seed });

        var stageDir = RunFolders.StageDir(spec, stage.Name);
        using var stageLock = StageLock.Acquire(stageDir, stage.Name);
        var previous = Manifest.TryRead(stageDir);
        if (!force && previous is not null && previous.IsUpToDateWith(specHash, inputs))
        {
            Console.Error.WriteLine($"[{stage.Name}] up to date ({stageDir}); use --force (make FORCE=1) to rerun");
            PrintEpilogue(program, spec, config);
            return ExitOk;
        }

        // Resume only a run of the same spec and inputs that did not finish; anything else starts clean,
        // so no output of an older run survives next to a new manifest.
        var resume = allowResume && previous is not null && previous.Status != StageStatus.Complete
            && previous.IsRunOf(specHash, inputs);
        ClearStageDir(stageDir, keepState: resume);

        var device = program.UsesTorch ? DeviceSelector.Resolve(spec.Device) : null;
        var started = DateTimeOffset.UtcNow;
        var running = new Manifest
        {
            Stage = stage.Name, Pipeline = spec.Name, Status = StageStatus.Running, SpecHash = specHash,
            Inputs = inputs, GitRev = GitRevision.Current(), NativeAllocator = NativeHeap.Allocator, StartedAt = resume ? previous!.StartedAt : started,
        };
        running.Write(stageDir);
        var clock = Stopwatch.StartNew();
        var context = new StageContext<TConfig>(spec, specFile, stage.Name, config, device, resume);
        try
        {
            var metrics = program.Execute(context);
            var complete = running with
            {
                Status = StageStatus.Complete, FinishedAt = DateTimeOffset.UtcNow,
                DurationSeconds = Math.Round(clock.Elapsed.TotalSeconds, 2),
                OutputHash = OutputFingerprint(stageDir), Metrics = metrics,
            };
            complete.Write(stageDir);
            context.Log($"complete in {clock.Elapsed.TotalSeconds:F1}s → {stageDir}");
            PrintEpilogue(program, spec, config);
            return ExitOk;
        }
        catch (Exception e)
        {
            (running with { Status = StageStatus.Failed, FinishedAt = DateTimeOffset.UtcNow, Error = e.Message }).Write(stageDir);
            throw;
        }
    });

    private static void PrintEpilogue<TConfig>(StageProgram<TConfig> program, PipelineSpec spec, TConfig config) where TConfig : class, IStageConfig
    {
        if (program.Epilogue is not null) Console.WriteLine(program.Epilogue(spec, config));
    }

    private static void ClearStageDir(string stageDir, bool keepState)
    {
        foreach (var entry in Directory.EnumerateFileSystemEntries(stageDir))
        {
            var name = Path.GetFileName(entry);
            if (name == StageLock.FileName) continue;
            // The trainer's state/ folder, its state.tmp-* staging folders, and the log the resumed run appends to.
            if (keepState && (name.StartsWith(RunFolders.StateFolder, StringComparison.Ordinal) || name == MetricsLog.FileName)) continue;
            if (Directory.Exists(entry)) Directory.Delete(entry, recursive: true);
            else File.Delete(entry);
        }
    }

    /// <summary>Hash over the exported files (not state, logs or plots), so downstream stages notice a retrained upstream.</summary>
    private static string OutputFingerprint(string stageDir)
    {
        string[] skipped = [Manifest.FileName, StageLock.FileName, MetricsLog.FileName];
        var files = Directory.EnumerateFiles(stageDir, "*", SearchOption.AllDirectories)
            .Select(f => Path.GetRelativePath(stageDir, f))
            .Where(f => !skipped.Contains(f) && !f.StartsWith(RunFolders.StateFolder, StringComparison.Ordinal) && !f.EndsWith(".png", StringComparison.Ordinal))
            .Order(StringComparer.Ordinal);
        return ContentHash.OfText(string.Join("\n", files.Select(f => $"{f}:{ContentHash.OfFile(Path.Combine(stageDir, f))}")));
    }
}
