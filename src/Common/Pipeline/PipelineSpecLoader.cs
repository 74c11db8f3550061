using MiniLlmPipeline.Model;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace MiniLlmPipeline.Pipeline;

/// <summary>
/// Loads a pipeline spec: parse YAML, apply <c>--set</c> overrides to the node tree, bind strictly
/// onto <see cref="PipelineSpec"/>, then validate ranges and cross-stage references (<c>from:</c>).
/// Every problem is a <see cref="PipelineConfigException"/> naming file, line and key.
/// </summary>
public static class PipelineSpecLoader
{
    public static PipelineSpec Load(string path, IEnumerable<string>? overrides = null)
    {
        if (!File.Exists(path))
            throw new PipelineConfigException($"{path}: pipeline spec not found");
        string text;
        try { text = File.ReadAllText(path); }
        catch (IOException e) { throw new PipelineConfigException($"{path}: cannot read pipeline spec: {e.Message}"); }
        return Parse(text, path, overrides ?? []);
    }

    public static PipelineSpec Parse(string yaml, string sourceFile, IEnumerable<string> overrides)
    {
        var root = ParseRoot(yaml, sourceFile);
        var overrideSources = new Dictionary<YamlNode, string>(ReferenceEqualityComparer.Instance);
        foreach (var raw in overrides)
            Apply(root, SpecOverride.Parse(raw), overrideSources);

        var binder = new YamlConfigBinder(sourceFile, overrideSources);
        var stages = TakeStages(root);
        root.Children.TryGetValue(new YamlScalarNode("model"), out var pipelineModel);
        var spec = binder.Bind<PipelineSpec>(root, "") with { Stages = BindStages(stages, pipelineModel, binder) };
        Validate(spec, binder);
        return spec;
    }

    /// <summary>Removes <c>stages:</c> from the root, which the binder cannot bind by itself: each key picks its record type.</summary>
    private static YamlNode? TakeStages(YamlMappingNode root)
    {
        var key = new YamlScalarNode("stages");
        if (!root.Children.TryGetValue(key, out var node)) return null;
        root.Children.Remove(key);
        return node;
    }

    /// <summary>Binds each stage block onto its catalog entry's config record; an unknown stage name is an error.</summary>
    private static Dictionary<string, object> BindStages(YamlNode? node, YamlNode? pipelineModel, YamlConfigBinder binder)
    {
        var configs = new Dictionary<string, object>(StringComparer.Ordinal);
        if (node is null || node is YamlScalarNode { Value: null or "" or "~" or "null" }) return configs;
        binder.Remember("stages", node);
        if (node is not YamlMappingNode mapping)
            throw new PipelineConfigException($"{binder.Where(node)}: stages: expected a mapping of stage names, got '{node}'");
        foreach (var (keyNode, valueNode) in mapping.Children)
        {
            var name = (keyNode as YamlScalarNode)?.Value ?? "";
            var stage = StageCatalog.Find(name) ?? throw new PipelineConfigException(
                $"{binder.Where(keyNode)}: unknown stage 'stages.{name}' (expected one of: {string.Join(", ", StageCatalog.All.Select(s => s.Name))})");
            if (configs.ContainsKey(name))
                throw new PipelineConfigException($"{binder.Where(keyNode)}: stages.{name}: is given twice");
            InheritModelKeys(valueNode, pipelineModel);
            if (binder.Bind(stage.ConfigType, valueNode, $"stages.{name}") is { } config) configs[name] = config;
        }
        return configs;
    }

    /// <summary>
    /// A stage block's own <c>model:</c> (a distillation student's) takes every key it leaves out from the pipeline's
    /// <c>model:</c>, so a student that differs in width says only that; an error in an inherited key points at the
    /// pipeline's line. A stage whose record has no <c>model</c> key still rejects the block as an unknown key.
    /// </summary>
    private static void InheritModelKeys(YamlNode stageBlock, YamlNode? pipelineModel)
    {
        if (stageBlock is not YamlMappingNode block || pipelineModel is not YamlMappingNode defaults) return;
        if (!block.Children.TryGetValue(new YamlScalarNode("model"), out var own) || own is not YamlMappingNode ownModel) return;
        foreach (var (key, value) in defaults.Children)
            if (!ownModel.Children.ContainsKey(key)) ownModel.Children[key] = value;
    }

    private static YamlMappingNode ParseRoot(string yaml, string sourceFile)
    {
        var stream = new YamlStream();
        try { stream.Load(new StringReader(yaml)); }
        catch (YamlException e)
        {
            var reason = (e.InnerException?.Message ?? e.Message).Split(':', 2)[^1].Trim();
            throw new PipelineConfigException($"{sourceFile}:{e.Start.Line}:{e.Start.Column}: malformed YAML: {reason}");
        }
        if (stream.Documents.Count == 0)
            throw new PipelineConfigException($"{sourceFile}: the pipeline spec is empty");
        return stream.Documents[0].RootNode as YamlMappingNode
            ?? throw new PipelineConfigException($"{sourceFile}:1:1: the pipeline spec must be a mapping (name:, model:, stages: ...)");
    }

    private static void Apply(YamlMappingNode root, SpecOverride o, Dictionary<YamlNode, string> sources)
    {
        var mapping = root;
        foreach (var segment in o.Path.SkipLast(1))
        {
            var key = new YamlScalarNode(segment);
            if (!mapping.Children.TryGetValue(key, out var child))
            {
                child = new YamlMappingNode();
                mapping.Children[key] = child;
                sources[key] = o.Raw;
                sources[child] = o.Raw;
            }
            mapping = child as YamlMappingNode
                ?? throw new PipelineConfigException($"--set {o.Raw}: '{segment}' is not a mapping in the spec");
        }
        var leafKey = new YamlScalarNode(o.Path[^1]);
        // Plain style, as if typed into the YAML: `--set sft.val_data=null` unsets a key.
        var value = new YamlScalarNode(o.Value) { Style = YamlDotNet.Core.ScalarStyle.Plain };
        mapping.Children[leafKey] = value;
        sources[leafKey] = o.Raw;
        sources[value] = o.Raw;
    }

    private static void Validate(PipelineSpec spec, YamlConfigBinder binder)
    {
        void Check(string prefix, IEnumerable<(string Key, string Problem)> problems)
        {
            foreach (var (key, problem) in problems)
            {
                var keyPath = prefix.Length == 0 ? key : $"{prefix}.{key}";
                throw new PipelineConfigException($"{binder.Locate(keyPath)}: {keyPath}: {problem}");
            }
        }
        void CheckStageRef(string keyPath, string target, params string[] allowed)
        {
            if (!allowed.Contains(target))
                throw new PipelineConfigException(
                    $"{binder.Locate(keyPath)}: {keyPath}: '{target}' cannot be used here (expected one of: {string.Join(", ", allowed)})");
            if (!spec.Defines(target))
                throw new PipelineConfigException(
                    $"{binder.Locate(keyPath)}: {keyPath}: names stage '{target}', which this spec does not define under stages:");
        }

        if (string.IsNullOrWhiteSpace(spec.Name) || spec.Name.IndexOfAny(['/', '\\', ' ']) >= 0)
            throw new PipelineConfigException($"{binder.Locate("name")}: name: must be a non-empty word without slashes or spaces");
        if (spec.Device is not ("auto" or "cpu" or "cuda"))
            throw new PipelineConfigException($"{binder.Locate("device")}: device: must be auto, cpu or cuda");
        Check("model", spec.Model.Problems());
        foreach (var stage in StageCatalog.All)
        {
            if (!spec.Stages.TryGetValue(stage.Name, out var config)) continue;
            var prefix = $"stages.{stage.Name}";
            Check(prefix, stage.Problems(config));
            if (config is Training.OptimizerConfig { Lora: { } lora }) Check(prefix, lora.Problems(spec.Model));
            foreach (var reference in stage.References(config).Where(r => !r.Optional))
            {
                // from: hf:<folder> names a Hugging Face Llama folder instead of a stage (HfModelFolder); its files are checked when the stage loads it.
                if (HfModelFolder.FolderOf(reference.Stage) is { } folder && reference.Accepts.Contains(StageOutput.Policy))
                {
                    if (!Directory.Exists(folder))
                        throw new PipelineConfigException($"{binder.Locate($"{prefix}.{reference.Key}")}: {prefix}.{reference.Key}: Hugging Face model folder not found: {folder}");
                    continue;
                }
                CheckStageRef($"{prefix}.{reference.Key}", reference.Stage,
                    StageCatalog.All.Where(s => reference.Accepts.Contains(s.Output)).Select(s => s.Name).ToArray());
            }
        }
    }
}
