namespace MiniLlmPipeline.Pipeline;

/// <summary>
/// What a stage program tells <see cref="StageCli"/>: which config block it reads, which files and
/// upstream stages it depends on (these decide "up to date"), and its body, which returns the
/// final metrics recorded in the manifest. <see cref="OptionalUpstream"/> names stages the body uses
/// when they completed and does without otherwise (eval): their output hashes, or "not run", count as
/// inputs too, so a stage that completes or is retrained later makes this one out of date.
/// <see cref="Epilogue"/> is a line for the user (e.g. where the report is), printed on stdout whether
/// the stage ran or was up to date.
/// </summary>
public sealed record StageDefinition<TConfig>(
    string Name,
    string Description,
    Func<PipelineSpec, TConfig?> SelectConfig,
    Func<TConfig, IEnumerable<(string Key, string? Path)>> DataFiles,
    Func<TConfig, IEnumerable<string>> Upstream,
    Func<StageContext<TConfig>, IReadOnlyDictionary<string, double>> Execute,
    Func<TConfig, IEnumerable<string>>? OptionalUpstream = null,
    Func<PipelineSpec, TConfig, string>? Epilogue = null)
    where TConfig : class;
