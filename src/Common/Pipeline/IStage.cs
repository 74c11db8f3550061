namespace MiniLlmPipeline.Pipeline;

/// <summary>
/// One entry of the <see cref="StageCatalog"/>, without its config type: what the spec loader, the stage runner,
/// eval, the Makefile check and the tests need to know about any stage.
/// </summary>
public interface IStage
{
    /// <summary>The one spelling of the stage: spec key under <c>stages:</c>, run folder, make target and program name.</summary>
    string Name { get; }
    /// <summary>The project folder under <c>stages/</c> (and the C# project's name).</summary>
    string Project { get; }
    StageOutput Output { get; }
    Type ConfigType { get; }
    /// <summary>The other stages a config of this stage names (checked at spec load, hashed as inputs).</summary>
    IEnumerable<StageReference> References(object config);
    /// <summary>The data files a config of this stage reads, by spec key (hashed as inputs; null when unset).</summary>
    IEnumerable<(string Key, string? Path)> DataFiles(object config);
    /// <summary>Range problems of a config of this stage, as (key, problem).</summary>
    IEnumerable<(string Key, string Problem)> Problems(object config);
}
