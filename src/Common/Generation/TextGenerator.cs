using MiniLlmPipeline.Model;
using MiniLlmPipeline.Tokenization;
using TorchSharp;

namespace MiniLlmPipeline.Generation;

/// <summary>
/// Text in, text out over a checkpoint: encodes prompts (through the chat template for instruction-tuned
/// models, as-is for a pretrained one), samples completions in batches with the KV cache, decodes them.
/// SFT, DPO, PPO and Eval judge models with it; the generate program serves it to users.
/// </summary>
public sealed class TextGenerator(Gpt model, TextTokenizer tokenizer, bool chat)
{
    public Gpt Model => model;
    public TextTokenizer Tokenizer => tokenizer;
    public bool Chat => chat;

    /// <summary>The model and tokenizer of a stage's checkpoint folder.</summary>
    public static TextGenerator Load(string checkpointDir, torch.Device device, bool chat) =>
        new(ModelCheckpoint.LoadGpt(checkpointDir, device),
            TextTokenizer.Load(Path.Combine(checkpointDir, ModelCheckpoint.TokenizerFolder)), chat);

    /// <summary>The ids fed to the model for a single-turn prompt.</summary>
    public int[] EncodePrompt(string prompt) =>
        chat ? ChatTemplate.RenderPrompt(tokenizer, prompt) : [.. tokenizer.Encode(prompt)];

    /// <summary>Completions for prompts, <paramref name="batchSize"/> at a time, deterministic for a seeded <paramref name="rng"/>.</summary>
    public IReadOnlyList<string> Complete(IReadOnlyList<string> prompts, SamplingSettings settings, torch.Generator rng, int batchSize = 16) =>
        CompleteIds(prompts.Select(EncodePrompt).ToList(), settings, rng, batchSize);

    /// <summary>Completions for already-encoded prompts; the stop token and any other special token are left out of the text.</summary>
    public IReadOnlyList<string> CompleteIds(IReadOnlyList<int[]> prompts, SamplingSettings settings, torch.Generator rng, int batchSize = 16)
    {
        var texts = new List<string>(prompts.Count);
        var wasTraining = model.training;
        model.eval();
        try
        {
            for (var start = 0; start < prompts.Count; start += batchSize)
            {
                var batch = prompts.Skip(start).Take(batchSize).ToList();
                foreach (var ids in Generator.Generate(model, batch, settings, StopIds, tokenizer.PadId, rng))
                    texts.Add(tokenizer.Decode(ids, skipSpecialTokens: true).Trim());
            }
        }
        finally { if (wasTraining) model.train(); }
        return texts;
    }

    /// <summary>A chat model ends its turn with &lt;|im_end|&gt;; any model may end the document.</summary>
    private int[] StopIds => chat ? [tokenizer.ImEndId, tokenizer.EndOfTextId] : [tokenizer.EndOfTextId];
}
