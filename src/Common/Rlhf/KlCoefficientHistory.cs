using System.Globalization;
using System.Text.Json;
using MiniLlmPipeline.IO;
using MiniLlmPipeline.Pipeline;

namespace MiniLlmPipeline.Rlhf;

/// <summary>
/// The KL coefficient β each PPO iteration starts with, kept in a small JSON file so a resumed run restores the
/// adaptive controller exactly (β is a function of every earlier rollout's KL, which the trainer's state does not hold).
/// The file lives beside <c>state/</c>, not in it, because a checkpoint replaces that folder wholesale; entries for
/// iteration i are written during iteration i − 1's rollout, so every checkpoint's next iteration has one.
/// </summary>
public sealed class KlCoefficientHistory(string? path)
{
    public const string FileName = "kl_coef.json";

    private readonly Dictionary<int, double> _values = Read(path);

    /// <summary>β recorded for <paramref name="iteration"/>, if any.</summary>
    public double? At(int iteration) => _values.TryGetValue(iteration, out var value) ? value : null;

    /// <summary>Records β for <paramref name="iteration"/>; iteration 1 starts a new history (a fresh run).</summary>
    public void Record(int iteration, double value)
    {
        if (iteration <= 1) _values.Clear();
        _values[iteration] = value;
        if (path is null) return;
        var json = _values.OrderBy(kv => kv.Key).ToDictionary(kv => kv.Key.ToString(CultureInfo.InvariantCulture), kv => kv.Value);
        AtomicFile.WriteAllText(path, JsonSerializer.Serialize(json, JsonDefaults.Options));
    }

    private static Dictionary<int, double> Read(string? path)
    {
        if (path is null || !File.Exists(path)) return [];
        try
        {
            var json = JsonSerializer.Deserialize<Dictionary<string, double>>(File.ReadAllText(path)) ?? [];
            return json.ToDictionary(kv => int.Parse(kv.Key, CultureInfo.InvariantCulture), kv => kv.Value);
        }
        catch (Exception e) when (e is JsonException or FormatException)
        {
            throw new StageInputException($"{path}: not a KL coefficient history ({e.Message}); delete it and rerun with --no-resume");
        }
    }
}
