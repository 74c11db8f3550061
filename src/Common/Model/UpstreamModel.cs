using MiniLlmPipeline.IO;
using MiniLlmPipeline.Pipeline;
using MiniLlmPipeline.Tokenization;
using static TorchSharp.torch;

namespace MiniLlmPipeline.Model;

/// <summary>
/// The language model an alignment stage starts from (its <c>from:</c> stage's checkpoint) with that checkpoint's
/// tokenizer, checked against the spec's <c>model:</c> block before any weight is read, with the spec's dropout rate (the
/// stage trains it: <see cref="ModelSpec.Dropout"/>). The caller disposes <see cref="Model"/>.
/// </summary>
public sealed record UpstreamModel(Gpt Model, TextTokenizer Tokenizer, string TokenizerDir)
{
    /// <summary>
    /// A stage's checkpoint, or a Hugging Face folder (<see cref="HfModelFolder"/>: no <c>tokenizer/</c> subfolder, a
    /// <c>from: hf:</c> path) whose tokenizer is rewritten into a folder under the temp directory that the stage copies into its own checkpoint.
    /// </summary>
    public static UpstreamModel Load(string stageDir, ModelSpec spec, Device device)
    {
        if (!Directory.Exists(Path.Combine(stageDir, ModelCheckpoint.TokenizerFolder)) && !File.Exists(Path.Combine(stageDir, "manifest.json")))
            return HfModelFolder.Load(stageDir, spec, device, HfModelFolder.TokenizerCacheDir(stageDir));
        var config = ModelCheckpoint.ReadConfig(stageDir, spec);
        var tokenizerDir = Path.Combine(stageDir, ModelCheckpoint.TokenizerFolder);
        if (!Directory.Exists(tokenizerDir)) throw new StageInputException($"{tokenizerDir}: the checkpoint's tokenizer folder is missing");
        var tokenizer = TextTokenizer.Load(tokenizerDir);
        if (tokenizer.VocabSize != config.VocabSize)
            throw new StageInputException(
                $"{tokenizerDir}: the tokenizer has {tokenizer.VocabSize} tokens but {Path.Combine(stageDir, ModelCheckpoint.ConfigFile)} says vocab_size {config.VocabSize}");
        return new UpstreamModel(ModelCheckpoint.LoadGpt(stageDir, device, spec.Dropout), tokenizer, tokenizerDir);
    }
}
