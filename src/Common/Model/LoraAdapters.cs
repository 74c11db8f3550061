using TorchSharp;
using static TorchSharp.torch;

namespace MiniLlmPipeline.Model;

/// <summary>
/// LoRA on a whole <see cref="Gpt"/> (Hu et al. 2021): <see cref="Attach"/> freezes every base weight and puts an adapter
/// on each target projection of every block; <see cref="Disable"/> switches the adapters off for a scope, so the model is
/// its own frozen reference (DPO, PPO and GRPO keep no second copy of the weights); <see cref="MergedWeights"/> gives the
/// plain Llama weights W₀ + (α/r)·B·A that the stage's checkpoint holds, so every later reader needs no adapter.
/// </summary>
public static class LoraAdapters
{
    /// <summary>
    /// Freezes <paramref name="model"/>'s parameters (requires_grad false) and attaches an adapter to every
    /// <paramref name="config"/> target of every block; A is drawn from a generator seeded with <paramref name="seed"/>, so
    /// the global random stream (and thus everything else a stage draws) is the same with or without LoRA. Returns the
    /// adapters' parameter count. A null config leaves the model untouched.
    /// </summary>
    public static long Attach(Gpt model, LoraConfig? config, long seed)
    {
        if (config is null) return 0;
        foreach (var (target, problem) in config.Problems().Concat(ShapeProblems(model, config)))
            throw new ArgumentException($"{target}: {problem}", nameof(config));
        foreach (var parameter in model.parameters()) parameter.requires_grad = false;
        var generator = new Generator((ulong)seed, model.Backbone.EmbedTokens.weight!.device);
        long count = 0;
        foreach (var layer in model.Backbone.Layers)
            foreach (var (_, linear) in Targets(layer, config))
            {
                var adapter = linear.Attach(config, generator);
                count += adapter.A.numel() + adapter.B.numel();
            }
        return count;
    }

    /// <summary>Whether <paramref name="model"/> carries adapters (then its forward is not the plain weights' forward).</summary>
    public static bool Has(nn.Module model) => Adapters(model).Any();

    /// <summary>
    /// Switches every adapter of <paramref name="model"/> off until disposed: the forward is then exactly the frozen base
    /// model's. A no-op on a model without adapters (a separately loaded reference).
    /// </summary>
    public static IDisposable Disable(nn.Module model) => new Switch(Adapters(model).Where(a => a.Enabled).ToList());

    /// <summary>
    /// The model's parameters as a checkpoint stores them: each adapted weight merged (W₀ + (α/r)·B·A), the adapters
    /// themselves left out; a switched-off adapter (<see cref="Disable"/>) adds nothing. Without adapters, the parameters themselves.
    /// </summary>
    public static Dictionary<string, Tensor> MergedWeights(nn.Module model)
    {
        var adapted = AdaptedLayers(model).ToDictionary(l => l.Prefix + ".weight", l => l.Layer.Adapter!);
        var weights = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        foreach (var (name, parameter) in model.named_parameters())
        {
            if (name.Contains($".{MixedPrecisionLinear.AdapterName}.", StringComparison.Ordinal)) continue;
            weights[name] = adapted.TryGetValue(name, out var adapter) && adapter.Enabled ? adapter.Merge(parameter) : parameter;
        }
        return weights;
    }

    /// <summary>Every adapted layer with its parameter-name prefix (e.g. <c>model.layers.0.self_attn.q_proj</c>).</summary>
    public static IEnumerable<(string Prefix, MixedPrecisionLinear Layer)> AdaptedLayers(nn.Module model) =>
        model.named_modules().Where(m => m.module is MixedPrecisionLinear { Adapter: not null })
            .Select(m => (m.name, (MixedPrecisionLinear)m.module));

    private static IEnumerable<LoraAdapter> Adapters(nn.Module model) => model.modules().OfType<LoraAdapter>();

    private static IEnumerable<(string Name, MixedPrecisionLinear Linear)> Targets(TransformerBlock block, LoraConfig config) =>
        block.named_modules().Where(m => m.module is MixedPrecisionLinear && config.Targets.Contains(m.name.Split('.')[^1]))
            .Select(m => (m.name, (MixedPrecisionLinear)m.module));

    /// <summary>A rank above a target's smaller dimension, on the model as loaded (a <c>from: hf:</c> folder has its own shape).</summary>
    private static IEnumerable<(string Key, string Problem)> ShapeProblems(Gpt model, LoraConfig config) =>
        model.Backbone.Layers.Take(1).SelectMany(block => Targets(block, config))
            .Where(t => config.Rank > Math.Min(t.Linear.InFeatures, t.Linear.OutFeatures))
            .Select(t => ("lora.rank", $"{config.Rank} exceeds {t.Name.Split('.')[^1]}'s smaller dimension {Math.Min(t.Linear.InFeatures, t.Linear.OutFeatures)}"));

    private sealed class Switch : IDisposable
    {
        private readonly List<LoraAdapter> _switched;

        public Switch(List<LoraAdapter> adapters)
        {
            _switched = adapters;
            foreach (var adapter in adapters) adapter.Enabled = false;
        }

        public void Dispose()
        {
            foreach (var adapter in _switched) adapter.Enabled = true;
        }
    }
}
