namespace MiniLlmPipeline.Pipeline;

/// <summary>
/// What a stage program tells <see cref="StageCli"/>: which config block it reads, which files and
/// upstream stages it depends on (these decide "up to date"), and its body, which returns the
/// final metrics recorded in the manifest.
/// </summary>
public sealed record StageDefinition<TConfig>(
    string Name,
    string Description,
    Func<PipelineSpec, TConfig?> SelectConfig,
    Func<TConfig, IEnumerable<(string Key, string? Path)>> DataFiles,
    Func<TConfig, IEnumerable<string>> Upstream,
    Func<StageContext<TConfig>, IReadOnlyDictionary<string, double>> Execute)
    where TConfig : class;
