namespace MiniLlmPipeline.Pipeline;

/// <summary>
/// What a stage program gives <see cref="StageCli.Run{TConfig}"/>: its <see cref="StageCatalog"/> entry (config,
/// upstream stages and data files, which decide "up to date"), a one-line description for <c>--help</c>, and its body,
/// which returns the final metrics recorded in the manifest. <see cref="Epilogue"/> is an optional line for the user
/// (e.g. where the report is), printed on stdout whether the stage ran or was up to date.
/// </summary>
public sealed record StageProgram<TConfig>(Stage<TConfig> Stage) where TConfig : class, IStageConfig
{
    public required string Description { get; init; }
    public required Func<StageContext<TConfig>, IReadOnlyDictionary<string, double>> Execute { get; init; }
    public Func<PipelineSpec, TConfig, string>? Epilogue { get; init; }
    /// <summary>False for a stage that runs no tensor code, so libtorch is never loaded into it.</summary>
    public bool UsesTorch { get; init; } = true;
}
