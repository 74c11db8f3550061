using System.Diagnostics;
using MiniLlmPipeline.IO;
using MiniLlmPipeline.Model;
using MiniLlmPipeline.Tokenization;
using TorchSharp;

namespace MiniLlmPipeline.Stages.Export;

/// <summary>
/// Writes a stage's checkpoint (model.safetensors, config.json, tokenizer/) as a GGUF file or a Hugging Face folder.
/// Every output appears complete or not at all: the GGUF file and the folder are written under a temporary name and
/// renamed at the end (<see cref="AtomicFile"/>).
/// </summary>
public static class Exporter
{
    public const string HfFolder = "hf";

    public sealed record Result(string Path, long Bytes, TimeSpan Elapsed);

    /// <summary>The GGUF file's name: one file per quantization, beside each other in the stage's export folder.</summary>
    public static string GgufFileName(string name, ExportQuant quant) => $"{name}-{ExportOptions.Name(quant)}.gguf";

    public static Result Run(string stageDir, string outDir, string name, ExportFormat format, ExportQuant quant)
    {
        var clock = Stopwatch.StartNew();
        var (model, tokenizer, tokenizerDir) = Load(stageDir);
        using (model)
        {
            if (format == ExportFormat.Gguf)
            {
                var path = Path.Combine(outDir, GgufFileName(name, quant));
                var gguf = GgufExport.Build(model, tokenizer, name, quant);
                AtomicFile.Write(path, gguf.Write);
                return new Result(path, new FileInfo(path).Length, clock.Elapsed);
            }
            if (quant != ExportQuant.F32)
                throw new StageInputException($"--quant: a Hugging Face folder holds the checkpoint's f32 safetensors, so --quant {ExportOptions.Name(quant)} applies to --format gguf only");
            var folder = Path.Combine(outDir, HfFolder);
            AtomicFile.ReplaceDirectory(folder, temp => WriteHfFolder(stageDir, tokenizerDir, tokenizer.Model, temp));
            var bytes = Directory.GetFiles(folder).Sum(f => new FileInfo(f).Length);
            return new Result(folder, bytes, clock.Elapsed);
        }
    }

    /// <summary>The checkpoint's language model and tokenizer, their sizes checked against each other.</summary>
    public static (Gpt Model, TextTokenizer Tokenizer, string TokenizerDir) Load(string stageDir)
    {
        var config = ModelCheckpoint.ReadConfig(stageDir);
        var tokenizerDir = Path.Combine(stageDir, ModelCheckpoint.TokenizerFolder);
        if (!Directory.Exists(tokenizerDir)) throw new StageInputException($"{tokenizerDir}: the checkpoint's tokenizer folder is missing");
        var tokenizer = TextTokenizer.Load(tokenizerDir);
        if (tokenizer.VocabSize != config.VocabSize)
            throw new StageInputException(
                $"{Path.Combine(tokenizerDir, BpeModel.VocabFile)}: the tokenizer has {tokenizer.VocabSize} tokens but {Path.Combine(stageDir, ModelCheckpoint.ConfigFile)} says vocab_size {config.VocabSize}");
        var model = ModelCheckpoint.LoadGpt(stageDir, torch.CPU);
        model.eval();
        return (model, tokenizer, tokenizerDir);
    }

    /// <summary>
    /// The folder transformers' from_pretrained reads: our safetensors and config.json as they are (already HF
    /// Llama names and keys), the tokenizer as tokenizer.json plus the GPT-2 style vocab.json/merges.txt.
    /// </summary>
    private static void WriteHfFolder(string stageDir, string tokenizerDir, BpeModel bpe, string folder)
    {
        File.Copy(Path.Combine(stageDir, ModelCheckpoint.WeightsFile), Path.Combine(folder, ModelCheckpoint.WeightsFile));
        File.Copy(Path.Combine(stageDir, ModelCheckpoint.ConfigFile), Path.Combine(folder, ModelCheckpoint.ConfigFile));
        File.Copy(Path.Combine(tokenizerDir, BpeModel.VocabFile), Path.Combine(folder, BpeModel.VocabFile));
        File.Copy(Path.Combine(tokenizerDir, BpeModel.MergesFile), Path.Combine(folder, BpeModel.MergesFile));
        File.WriteAllText(Path.Combine(folder, HfTokenizerFiles.TokenizerJson), HfTokenizerFiles.Json(bpe));
        File.WriteAllText(Path.Combine(folder, BpeModel.ConfigFile), HfTokenizerFiles.TokenizerConfig(bpe));
        File.WriteAllText(Path.Combine(folder, HfTokenizerFiles.GenerationConfig), HfTokenizerFiles.GenerationConfigJson());
    }
}
