using System.Text.Json;
using MiniLlmPipeline.IO;

namespace MiniLlmPipeline.Pipeline;

/// <summary>
/// runs/&lt;pipeline&gt;/&lt;stage&gt;/manifest.json: what a stage run used and produced. Only a manifest with
/// status <c>complete</c> makes the folder's checkpoint usable by downstream stages.
/// </summary>
public sealed record Manifest
{
    public const string FileName = "manifest.json";

    public required string Stage { get; init; }
    public required string Pipeline { get; init; }
    public required string Status { get; init; }
    /// <summary>Hash of this stage's config, the model spec and the seed.</summary>
    public required string SpecHash { get; init; }
    /// <summary>Input name (data file path or <c>stage:&lt;name&gt;</c>) → content hash.</summary>
    public required IReadOnlyDictionary<string, string> Inputs { get; init; }
    public string? GitRev { get; init; }
    /// <summary>The native malloc the run used (<c>tcmalloc</c> or <c>glibc</c>): it moves wall times by ~15 %.</summary>
    public string? NativeAllocator { get; init; }
    public DateTimeOffset StartedAt { get; init; }
    public DateTimeOffset? FinishedAt { get; init; }
    public double? DurationSeconds { get; init; }
    /// <summary>Fingerprint of the stage's outputs; downstream stages record it as their input hash.</summary>
    public string? OutputHash { get; init; }
    public IReadOnlyDictionary<string, double>? Metrics { get; init; }
    public string? Error { get; init; }

    public static Manifest? TryRead(string stageDir)
    {
        var path = Path.Combine(stageDir, FileName);
        if (!File.Exists(path)) return null;
        try { return JsonSerializer.Deserialize<Manifest>(File.ReadAllText(path), JsonDefaults.Options); }
        catch (JsonException) { return null; }
    }

    public void Write(string stageDir) =>
        AtomicFile.WriteAllText(Path.Combine(stageDir, FileName), JsonSerializer.Serialize(this, JsonDefaults.Options));

    public bool IsUpToDateWith(string specHash, IReadOnlyDictionary<string, string> inputs) =>
        Status == StageStatus.Complete && IsRunOf(specHash, inputs);

    /// <summary>Whether this manifest belongs to a run of the same spec and the same input contents (complete or not).</summary>
    public bool IsRunOf(string specHash, IReadOnlyDictionary<string, string> inputs) =>
        SpecHash == specHash && Inputs.Count == inputs.Count && inputs.All(kv => Inputs.TryGetValue(kv.Key, out var h) && h == kv.Value);
}
