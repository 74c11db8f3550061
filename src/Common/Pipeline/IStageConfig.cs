namespace MiniLlmPipeline.Pipeline;

/// <summary>A stage's config record: its range checks, which the spec loader runs on every stage the spec defines.</summary>
public interface IStageConfig
{
    /// <summary>Range problems as (key, problem); empty when valid.</summary>
    IEnumerable<(string Key, string Problem)> Problems();
}
