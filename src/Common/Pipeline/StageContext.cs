using MiniLlmPipeline.Model;
using MiniLlmPipeline.Training;
using TorchSharp;

namespace MiniLlmPipeline.Pipeline;

/// <summary>Everything a stage's body needs: its validated config, its folders, device and upstream checkpoints.</summary>
public sealed class StageContext<TConfig>(
    PipelineSpec spec, string specFile, string stage, TConfig config, torch.Device? device, bool resume)
    where TConfig : class
{
    public PipelineSpec Spec { get; } = spec;
    /// <summary>The spec file the stage was run with, for errors about its keys found only at run time.</summary>
    public string SpecFile { get; } = specFile;
    public string Stage { get; } = stage;
    public TConfig Config { get; } = config;
    /// <summary>The spec's device; not resolved (libtorch not loaded) for a stage whose program says it uses no tensors.</summary>
    public torch.Device Device => device ?? throw new InvalidOperationException($"stage '{Stage}' declared that it uses no tensors (UsesTorch = false)");
    /// <summary>True when the stage may continue from a checkpoint in <see cref="StateDir"/>.</summary>
    public bool Resume { get; } = resume;

    public string PipelineDir => RunFolders.PipelineDir(Spec);
    public string StageDir => RunFolders.StageDir(Spec, Stage);
    public string StateDir => Path.Combine(StageDir, RunFolders.StateFolder);
    public string TensorBoardDir => Path.Combine(PipelineDir, "tb", Stage);

    /// <summary>
    /// The folder of a completed upstream stage (throws a clear error when it never completed), or of the Hugging Face
    /// model a <c>from: hf:&lt;folder&gt;</c> names.
    /// </summary>
    public string UpstreamDir(string upstream) => HfModelFolder.FolderOf(upstream) ?? RunFolders.CompletedStageDir(Spec, upstream, Stage);

    /// <summary>Trainer settings for this stage's folders, seed and resume decision.</summary>
    public TrainerOptions TrainerOptions(string plotTitle, double flopsPerToken = 0) => new()
    {
        StageDir = StageDir, StateDir = StateDir, TensorBoardDir = TensorBoardDir, Resume = Resume,
        Seed = Spec.Seed, StageName = Stage, PlotTitle = plotTitle, FlopsPerToken = flopsPerToken,
    };

    /// <summary>
    /// LoRA adapters on <paramref name="model"/> when the stage's block has <c>lora:</c> (<see cref="LoraAdapters.Attach"/>:
    /// base weights frozen, only the adapters trainable), logged with the share of parameters that train; otherwise nothing.
    /// </summary>
    public void AttachLora(Gpt model)
    {
        if (Config is not OptimizerConfig { Lora: { } lora }) return;
        var total = model.ParameterCount;
        var adapters = LoraAdapters.Attach(model, lora, Spec.Seed);
        Log($"LoRA rank {lora.Rank}, alpha {lora.Alpha:G4} on {string.Join(", ", lora.Targets)}: {adapters:N0} trainable adapter " +
            $"parameters ({100.0 * adapters / total:F2}% of the {total:N0} frozen base parameters)");
    }

    /// <summary>"<c>pipelines/x.yaml: stages.&lt;stage&gt;.&lt;key&gt;</c>": where an error found at run time points.</summary>
    public string Key(string key) => $"{SpecFile}: stages.{Stage}.{key}";

    public void Log(string message) => Console.Error.WriteLine($"[{Stage}] {message}");
}
