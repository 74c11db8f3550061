using System.Text.Json.Nodes;
using MiniLlmPipeline.IO;
using static TorchSharp.torch;

namespace MiniLlmPipeline.Model;

/// <summary>
/// A model's LoRA adapters in the layout Hugging Face PEFT saves and loads (<c>PeftModel.from_pretrained(base, folder)</c>):
/// <c>adapter_model.safetensors</c> with PEFT's key names (the wrapper prefix <c>base_model.model.</c>, then the module path,
/// then <c>lora_A.weight</c> / <c>lora_B.weight</c>, the adapter name "default" left out as PEFT's
/// <c>get_peft_model_state_dict</c> does) and <c>adapter_config.json</c> with <c>LoraConfig</c>'s fields. A reward model's
/// trained scalar head goes in as a module to save (<c>base_model.model.score.weight</c>, task SEQ_CLS).
/// </summary>
public static class PeftAdapterFiles
{
    public const string WeightsFile = "adapter_model.safetensors";
    public const string ConfigFile = "adapter_config.json";
    private const string Prefix = "base_model.model.";
    private const string ScoreWeight = "score.weight";

    /// <summary>Writes both files into <paramref name="stageDir"/> when the model has adapters, and removes stale ones when it has none.</summary>
    public static void Save(string stageDir, nn.Module model, bool scalarHead)
    {
        var layers = LoraAdapters.AdaptedLayers(model).ToList();
        if (layers.Count == 0)
        {
            foreach (var file in new[] { WeightsFile, ConfigFile }) File.Delete(Path.Combine(stageDir, file));
            return;
        }
        var tensors = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        foreach (var (prefix, layer) in layers)
        {
            tensors[$"{Prefix}{prefix}.lora_A.weight"] = layer.Adapter!.A;
            tensors[$"{Prefix}{prefix}.lora_B.weight"] = layer.Adapter!.B;
        }
        if (scalarHead)
            tensors[Prefix + ScoreWeight] = model.named_parameters().Single(p => p.name == ScoreWeight).parameter;
        Safetensors.Save(Path.Combine(stageDir, WeightsFile), tensors, ScalarType.Float32);
        AtomicFile.WriteAllText(Path.Combine(stageDir, ConfigFile), Config(layers, scalarHead).ToJsonString(JsonDefaults.Options));
    }

    /// <summary>PeftConfig / LoraConfig as PEFT writes it (its to_dict), with the values this adapter was trained with.</summary>
    private static JsonObject Config(IReadOnlyList<(string Prefix, MixedPrecisionLinear Layer)> layers, bool scalarHead)
    {
        var adapter = layers[0].Layer.Adapter!;
        var targets = layers.Select(l => l.Prefix.Split('.')[^1]).Distinct()
            .OrderBy(t => LoraConfig.KnownTargets.ToList().IndexOf(t)).Select(t => JsonValue.Create(t)).ToArray();
        return new JsonObject
        {
            ["alpha_pattern"] = new JsonObject(),
            ["auto_mapping"] = null,
            // The base is the stage's from: checkpoint; PEFT takes the base model as an argument, so no path is recorded.
            ["base_model_name_or_path"] = null,
            ["bias"] = "none",
            ["fan_in_fan_out"] = false,
            ["inference_mode"] = true,
            ["init_lora_weights"] = true,
            ["layers_pattern"] = null,
            ["layers_to_transform"] = null,
            ["lora_alpha"] = adapter.Alpha,
            ["lora_dropout"] = adapter.Dropout,
            ["modules_to_save"] = scalarHead ? new JsonArray("score") : null,
            ["peft_type"] = "LORA",
            ["r"] = adapter.Rank,
            ["rank_pattern"] = new JsonObject(),
            ["revision"] = null,
            ["target_modules"] = new JsonArray(targets),
            ["task_type"] = scalarHead ? "SEQ_CLS" : "CAUSAL_LM",
            ["use_dora"] = false,
            ["use_rslora"] = false,
        };
    }
}
