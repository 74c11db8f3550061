namespace MiniLlmPipeline.Model;

/// <summary>
/// A training stage's <c>lora:</c> block (Hu et al. 2021, "LoRA: Low-Rank Adaptation of Large Language Models"): the
/// base weights stay frozen and each target projection W learns a low-rank update ΔW = (α/r)·B·A instead, with A (r × in)
/// and B (out × r). Field names follow PEFT's <c>LoraConfig</c> (r, lora_alpha, lora_dropout, target_modules) in the
/// spec's own spelling.
/// </summary>
public sealed record LoraConfig
{
    /// <summary>The projections of each block an adapter may be put on (Hugging Face Llama module names).</summary>
    public static readonly IReadOnlyList<string> KnownTargets = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"];

    /// <summary>r: the rank of the update.</summary>
    public int Rank { get; init; } = 8;
    /// <summary>α: the update is scaled by α / r, so changing r needs no new learning rate (Hu et al. §4.1).</summary>
    public double Alpha { get; init; } = 16;
    /// <summary>Dropout on the adapter's input (PEFT's lora_dropout), training only.</summary>
    public double Dropout { get; init; }
    /// <summary>Which projections get an adapter; all seven linear layers of a block by default (QLoRA's "all linear").</summary>
    public string[] Targets { get; init; } = [.. KnownTargets];

    /// <summary>α / r, the factor of B·A.</summary>
    public double Scaling => Alpha / Rank;

    /// <summary>Range problems as (key, problem), keyed <c>lora.rank</c>, …; empty when valid.</summary>
    public IEnumerable<(string Key, string Problem)> Problems()
    {
        if (Rank <= 0) yield return ("lora.rank", "must be positive");
        if (Alpha <= 0 || !double.IsFinite(Alpha)) yield return ("lora.alpha", "must be a positive number");
        if (Dropout is < 0 or >= 1) yield return ("lora.dropout", "must be in [0, 1)");
        if (Targets is null || Targets.Length == 0)
        {
            yield return ("lora.targets", $"must name at least one of: {string.Join(", ", KnownTargets)}");
            yield break;
        }
        foreach (var target in Targets.Where(t => !KnownTargets.Contains(t)))
            yield return ("lora.targets", $"'{target}' is not a projection of the model (expected one of: {string.Join(", ", KnownTargets)})");
        if (Targets.Distinct().Count() != Targets.Length) yield return ("lora.targets", "names a projection twice");
    }

    /// <summary>
    /// A rank above a target's smaller dimension is no low-rank update (and B·A could not even reach full rank):
    /// the problems of this block against the model's shape.
    /// </summary>
    public IEnumerable<(string Key, string Problem)> Problems(ModelSpec model)
    {
        if (Rank <= 0 || Targets is null) yield break;
        foreach (var target in Targets.Where(KnownTargets.Contains))
        {
            var (input, output) = Shape(target, model.DModel, model.DModel / Math.Max(1, model.NHeads) * model.NKvHeads, model.FfnHidden);
            if (Rank > Math.Min(input, output))
                yield return ("lora.rank", $"{Rank} exceeds {target}'s smaller dimension {Math.Min(input, output)} ({input} → {output})");
        }
    }

    /// <summary>(in, out) features of a target projection for a model of width d, key/value width kv and FFN width f.</summary>
    public static (int In, int Out) Shape(string target, int d, int kv, int f) => target switch
    {
        "q_proj" or "o_proj" => (d, d),
        "k_proj" or "v_proj" => (d, kv),
        "gate_proj" or "up_proj" => (d, f),
        "down_proj" => (f, d),
        _ => throw new ArgumentException($"unknown LoRA target '{target}'", nameof(target)),
    };
}
