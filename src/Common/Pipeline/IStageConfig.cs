using MiniLlmPipeline.Model;

namespace MiniLlmPipeline.Pipeline;

/// <summary>A stage's config record: its range checks, which the spec loader runs on every stage the spec defines.</summary>
public interface IStageConfig
{
    /// <summary>Range problems as (key, problem); empty when valid.</summary>
    IEnumerable<(string Key, string Problem)> Problems();

    /// <summary>
    /// The shape of the model this stage's checkpoint holds when its block gives it one of its own (a distillation
    /// student's <c>model:</c>); null, for every other stage: the pipeline's <c>model:</c>. See <see cref="PipelineSpec.ModelOf"/>.
    /// </summary>
    ModelSpec? CheckpointModel => null;
}
