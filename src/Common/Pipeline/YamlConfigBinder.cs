using System.Globalization;
using System.Reflection;
using System.Text;
using YamlDotNet.RepresentationModel;

namespace MiniLlmPipeline.Pipeline;

/// <summary>
/// Binds a YAML node tree onto config records, strictly: every key must match a property
/// (snake_case in YAML, PascalCase in C#), every value must parse as the property's type, and
/// every <c>required</c> property must be present. Each error names the file (or the --set that
/// supplied the value), the line and column, and the dotted key path.
/// </summary>
internal sealed class YamlConfigBinder(string sourceFile, IReadOnlyDictionary<YamlNode, string> overrideSources)
{
    private readonly Dictionary<string, YamlNode> _nodesByKeyPath = new(StringComparer.Ordinal);

    /// <summary>Where a key path was set, for error messages raised after binding (validation).</summary>
    public string Locate(string keyPath)
    {
        for (var path = keyPath; path.Length > 0; path = path.Contains('.') ? path[..path.LastIndexOf('.')] : "")
            if (_nodesByKeyPath.TryGetValue(path, out var node)) return Where(node);
        return sourceFile;
    }

    public string Where(YamlNode node) =>
        overrideSources.TryGetValue(node, out var setArg)
            ? $"{sourceFile} (--set {setArg})"
            : $"{sourceFile}:{node.Start.Line}:{node.Start.Column}";

    public T Bind<T>(YamlNode node, string keyPath) where T : class => (T)BindValue(typeof(T), node, keyPath)!;

    /// <summary>Binds <paramref name="node"/> onto a record of <paramref name="type"/>; null for a YAML null.</summary>
    public object? Bind(Type type, YamlNode node, string keyPath) => BindValue(type, node, keyPath);

    /// <summary>Records where a key path was set, for a node the loader binds itself (the <c>stages:</c> mapping).</summary>
    public void Remember(string keyPath, YamlNode node) => _nodesByKeyPath[keyPath] = node;

    private object? BindValue(Type type, YamlNode node, string keyPath)
    {
        _nodesByKeyPath[keyPath] = node;
        var underlying = Nullable.GetUnderlyingType(type) ?? type;
        if (node is YamlScalarNode scalar && IsNull(scalar))
        {
            if (type.IsValueType && Nullable.GetUnderlyingType(type) is null)
                throw Error(node, keyPath, $"expected {Describe(type)}, got null");
            return null;
        }
        if (underlying == typeof(string) || underlying.IsPrimitive)
        {
            if (node is not YamlScalarNode s)
                throw Error(node, keyPath, $"expected {Describe(underlying)}, got a {(node is YamlMappingNode ? "mapping" : "list")}");
            return ParseScalar(underlying, s, keyPath);
        }
        if (underlying == typeof(string[])) return BindStrings(node, keyPath);
        if (node is not YamlMappingNode mapping)
            throw Error(node, keyPath, $"expected a mapping of {Describe(underlying)} keys, got '{node}'");
        return BindRecord(underlying, mapping, keyPath);
    }

    private object BindRecord(Type type, YamlMappingNode mapping, string keyPath)
    {
        var properties = type.GetProperties(BindingFlags.Public | BindingFlags.Instance)
            .Where(p => p.CanWrite)
            .ToDictionary(p => SnakeCase(p.Name), StringComparer.Ordinal);
        var instance = Activator.CreateInstance(type)!;
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var (keyNode, valueNode) in mapping.Children)
        {
            var key = (keyNode as YamlScalarNode)?.Value ?? "";
            var childPath = keyPath.Length == 0 ? key : $"{keyPath}.{key}";
            if (!properties.TryGetValue(key, out var property))
            {
                var what = keyPath == "stages" ? "stage" : "key";
                throw new PipelineConfigException(
                    $"{Where(keyNode)}: unknown {what} '{childPath}' (expected one of: {string.Join(", ", properties.Keys)})");
            }
            if (!seen.Add(key)) throw Error(keyNode, childPath, "is given twice");
            property.SetValue(instance, BindValue(property.PropertyType, valueNode, childPath));
        }
        foreach (var (key, property) in properties)
        {
            if (!seen.Contains(key) && IsRequired(property))
            {
                var at = keyPath.Length == 0 ? key : $"{keyPath}.{key}";
                throw new PipelineConfigException($"{Where(mapping)}: {at}: required key is missing");
            }
        }
        return instance;
    }

    /// <summary>
    /// A list of strings: a YAML sequence (<c>[q_proj, v_proj]</c>), or from a <c>--set</c> the same text as one scalar
    /// (<c>--set sft.lora.targets=[q_proj,v_proj]</c>, brackets optional).
    /// </summary>
    private string[] BindStrings(YamlNode node, string keyPath)
    {
        if (node is YamlScalarNode scalar)
            return (scalar.Value ?? "").Trim().TrimStart('[').TrimEnd(']').Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
        if (node is not YamlSequenceNode sequence) throw Error(node, keyPath, "expected a list of strings, got a mapping");
        return sequence.Children.Select((item, i) => item is YamlScalarNode { Value: { } value } && !IsNull((YamlScalarNode)item)
            ? value
            : throw Error(item, $"{keyPath}[{i}]", "expected a string")).ToArray();
    }

    private object ParseScalar(Type type, YamlScalarNode scalar, string keyPath)
    {
        var text = scalar.Value ?? "";
        var inv = CultureInfo.InvariantCulture;
        object? value = type switch
        {
            _ when type == typeof(string) => text,
            _ when type == typeof(int) => int.TryParse(text, NumberStyles.Integer, inv, out var i) ? i : null,
            _ when type == typeof(long) => long.TryParse(text, NumberStyles.Integer, inv, out var l) ? l : null,
            _ when type == typeof(double) => double.TryParse(text, NumberStyles.Float, inv, out var d) && double.IsFinite(d) ? d : null,
            _ when type == typeof(bool) => text switch { "true" or "True" => true, "false" or "False" => false, _ => null },
            _ => throw new NotSupportedException($"config property type {type} is not supported"),
        };
        return value ?? throw Error(scalar, keyPath, $"expected {Describe(type)}, got '{text}'");
    }

    // C# enforces `required` only at compile time; reflection binding checks it here. Matched by
    // name because a dependency (ScottPlot) ships its own polyfill of the attribute.
    private static bool IsRequired(PropertyInfo property) =>
        property.CustomAttributes.Any(a => a.AttributeType.Name == "RequiredMemberAttribute");

    private static bool IsNull(YamlScalarNode scalar) =>
        scalar.Style == YamlDotNet.Core.ScalarStyle.Plain && scalar.Value is null or "" or "~" or "null";

    private PipelineConfigException Error(YamlNode node, string keyPath, string problem) =>
        new($"{Where(node)}: {keyPath}: {problem}");

    private static string Describe(Type type) => type switch
    {
        _ when type == typeof(int) || type == typeof(long) => "an integer",
        _ when type == typeof(double) => "a number",
        _ when type == typeof(bool) => "true or false",
        _ when type == typeof(string) => "a string",
        _ when type == typeof(string[]) => "a list of strings",
        _ => type.Name,
    };

    /// <summary>DModel → d_model, RewardModel → reward_model.</summary>
    public static string SnakeCase(string pascal)
    {
        var sb = new StringBuilder(pascal.Length + 4);
        for (var i = 0; i < pascal.Length; i++)
        {
            if (char.IsUpper(pascal[i]) && i > 0) sb.Append('_');
            sb.Append(char.ToLowerInvariant(pascal[i]));
        }
        return sb.ToString();
    }
}
