using MiniLlmPipeline.Model;

namespace MiniLlmPipeline.Pipeline;

/// <summary>A whole pipeline spec (pipelines/*.yaml), loaded and validated by <see cref="PipelineSpecLoader"/>.</summary>
public sealed record PipelineSpec
{
    public required string Name { get; init; }
    /// <summary>Folder holding every artifact of this pipeline; defaults to runs/&lt;name&gt;.</summary>
    public string? RunDir { get; init; }
    public int Seed { get; init; } = 1337;
    /// <summary><c>auto</c> (CUDA when available), <c>cpu</c> or <c>cuda</c>.</summary>
    public string Device { get; init; } = "auto";
    public ModelSpec Model { get; init; } = new();
    /// <summary>
    /// The <c>stages:</c> block: each stage's config (of its <see cref="IStage.ConfigType"/>) by stage name. A stage the
    /// spec does not define cannot be run or named by <c>from:</c>. Bound by the loader through <see cref="StageCatalog"/>.
    /// </summary>
    public IReadOnlyDictionary<string, object> Stages { get; init; } = new Dictionary<string, object>();

    /// <summary>The config of <paramref name="stage"/>, or null when this spec does not define it.</summary>
    public TConfig? ConfigOf<TConfig>(Stage<TConfig> stage) where TConfig : class, IStageConfig => Stages.GetValueOrDefault(stage.Name) as TConfig;

    public bool Defines(string stage) => Stages.ContainsKey(stage);

    /// <summary>
    /// The model block <paramref name="stage"/>'s checkpoint is checked against: its own (<see cref="IStageConfig.CheckpointModel"/>,
    /// a distillation student) or the pipeline's <see cref="Model"/>.
    /// </summary>
    public ModelSpec ModelOf(string stage) => (Stages.GetValueOrDefault(stage) as IStageConfig)?.CheckpointModel ?? Model;
}
