using MiniLlmPipeline.Data;
using MiniLlmPipeline.Model;
using MiniLlmPipeline.Tokenization;
using MiniLlmPipeline.Training;
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

    public static TextGenerator Load(string checkpointDir, torch.Device device, bool chat) =>
        new(ModelCheckpoint.LoadGpt(checkpointDir, device), TextTokenizer.Load(Path.Combine(checkpointDir, ModelCheckpoint.TokenizerFolder)), chat);

    /// <summary>The ids fed to the model for a single-turn prompt.</summary>
    public int[] EncodePrompt(string prompt) =>
        chat ? ChatTemplate.RenderPrompt(tokenizer, prompt) : tokenizer.Encode(prompt).ToArray();

    /// <summary>The ids fed to the model for a conversation so far (its last turn is the user's).</summary>
    public int[] EncodeConversation(IReadOnlyList<ConversationTurn> turns) =>
        chat ? ChatTemplate.RenderPrompt(tokenizer, turns) : tokenizer.Encode(string.Concat(turns.Select(t => t.Content))).ToArray();

    /// <summary>Completions for prompts, <paramref name="batchSize"/> at a time, deterministic for a seeded <paramref name="rng"/>.</summary>
    public IReadOnlyList<string> Complete(IReadOnlyList<string> prompts, SamplingSettings settings, torch.Generator rng, int batchSize = 16) =>
        CompleteIds(prompts.Select(EncodePrompt).ToList(), settings, rng, batchSize);

    public IReadOnlyList<string> CompleteIds(IReadOnlyList<int[]> prompts, SamplingSettings settings, torch.Generator rng, int batchSize = 16)
    {
        var texts = new List<string>(prompts.Count);
        int[] stopIds = chat ? [tokenizer.ImEndId, tokenizer.EndOfTextId] : [tokenizer.EndOfTextId];
        using var inference = InferenceMode.Enter(model);
        foreach (var batch in prompts.Chunk(batchSize))
            foreach (var ids in BatchedGenerator.Generate(model, batch, settings, stopIds, tokenizer.PadId, rng))
                texts.Add(tokenizer.Decode(ids.Where(id => !stopIds.Contains(id))).Trim());
        return texts;
    }
}
