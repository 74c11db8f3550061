namespace MiniLlmPipeline.Pipeline;

/// <summary>
/// A stage as the <see cref="StageCatalog"/> declares it: its name, project, output, the config record its spec block
/// binds to (strictly, see <see cref="YamlConfigBinder"/>), the stages and data files that config names (its range checks
/// are the config's own, <see cref="IStageConfig"/>). Everything else about a stage (make targets, eval's rows, input hashing, reference checks) is derived from this.
/// </summary>
public sealed class Stage<TConfig>(
    string name,
    string project,
    StageOutput output,
    Func<TConfig, IEnumerable<StageReference>> references,
    Func<TConfig, IEnumerable<(string Key, string? Path)>> dataFiles) : IStage
    where TConfig : class, IStageConfig
{
    public string Name => name;
    public string Project => project;
    public StageOutput Output => output;
    public Type ConfigType => typeof(TConfig);

    public IEnumerable<StageReference> References(TConfig config) => references(config);
    public IEnumerable<(string Key, string? Path)> DataFiles(TConfig config) => dataFiles(config);

    IEnumerable<StageReference> IStage.References(object config) => references((TConfig)config);
    IEnumerable<(string Key, string? Path)> IStage.DataFiles(object config) => dataFiles((TConfig)config);
    IEnumerable<(string Key, string Problem)> IStage.Problems(object config) => ((TConfig)config).Problems();

    public override string ToString() => name;
}
