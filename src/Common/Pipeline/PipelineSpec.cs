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
    public StagesSpec Stages { get; init; } = new();
}
