namespace MiniLlmPipeline.Pipeline;

/// <summary>
/// One <c>--set key=value</c> from the command line. A key that starts with a stage name is
/// relative to <c>stages:</c> (<c>sft.lr=5e-5</c> sets <c>stages.sft.lr</c>); any other key is a
/// path from the top of the spec (<c>seed=7</c>, <c>model.d_model=128</c>).
/// </summary>
public sealed record SpecOverride(string Raw, IReadOnlyList<string> Path, string Value)
{
    public static SpecOverride Parse(string raw)
    {
        var eq = raw.IndexOf('=');
        if (eq <= 0)
            throw new PipelineConfigException($"--set {raw}: expected key=value, for example --set sft.lr=5e-5");
        var key = raw[..eq].Trim();
        var segments = key.Split('.');
        if (segments.Any(s => s.Length == 0))
            throw new PipelineConfigException($"--set {raw}: key '{key}' has an empty part");
        var path = StageCatalog.Find(segments[0]) is not null ? ["stages", .. segments] : segments;
        return new SpecOverride(raw, path, raw[(eq + 1)..].Trim());
    }
}
