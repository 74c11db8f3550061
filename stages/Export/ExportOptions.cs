using MiniLlmPipeline.IO;

namespace MiniLlmPipeline.Stages.Export;

public enum ExportFormat { Gguf, Hf }

/// <summary>The weight type of a GGUF export (an HF export is always f32 safetensors, as the checkpoint).</summary>
public enum ExportQuant { F32, F16, Q8_0 }

public static class ExportOptions
{
    public static ExportFormat ParseFormat(string value) => value switch
    {
        "gguf" => ExportFormat.Gguf,
        "hf" => ExportFormat.Hf,
        _ => throw new StageInputException($"--format: unknown export format '{value}' (gguf | hf)"),
    };

    public static ExportQuant ParseQuant(string value) => value switch
    {
        "f32" => ExportQuant.F32,
        "f16" => ExportQuant.F16,
        "q8_0" => ExportQuant.Q8_0,
        _ => throw new StageInputException($"--quant: unknown quantization '{value}' (f32 | f16 | q8_0)"),
    };

    public static string Name(ExportQuant quant) => quant switch { ExportQuant.F32 => "f32", ExportQuant.F16 => "f16", _ => "q8_0" };
}
