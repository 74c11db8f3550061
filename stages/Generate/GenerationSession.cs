using MiniLlmPipeline.Data;
using MiniLlmPipeline.Generation;
using MiniLlmPipeline.IO;
using MiniLlmPipeline.Pipeline;
using TorchSharp;

namespace MiniLlmPipeline.Stages.Generate;

/// <summary>The generate program's three modes over one loaded checkpoint: one prompt, a file of prompts, a chat.</summary>
internal sealed class GenerationSession(TextGenerator generator, SamplingSettings settings, int seed)
{
    private readonly torch.Generator _rng = new((ulong)seed);

    public static GenerationSession Open(PipelineSpec spec, string stage, bool chat, SamplingSettings settings, int seed)
    {
        // The settings' keys are the options' names in snake case (top_p is --top-p).
        if (settings.Problems().FirstOrDefault() is ({ } key, var problem))
            throw new StageInputException($"--{key.Replace('_', '-')}: {problem}");
        var dir = RunFolders.CompletedStageDir(spec, stage, "generate");
        var device = DeviceSelector.Resolve(spec.Device);
        return new GenerationSession(TextGenerator.Load(dir, device, chat), settings, seed);
    }

    public IReadOnlyList<string> Complete(IReadOnlyList<string> prompts) => generator.Complete(prompts, settings, _rng);

    public void CompleteFile(string promptsFile, string? outputFile)
    {
        var prompts = ParquetDatasets.ReadPrompts(promptsFile).Select(p => p.Prompt).ToList();
        var responses = Complete(prompts);
        if (outputFile is not null)
        {
            ParquetDatasets.WriteStrings(outputFile, [("prompt", prompts), ("response", responses)]);
            Console.Error.WriteLine($"generate: wrote {responses.Count} responses to {outputFile}");
            return;
        }
        for (var i = 0; i < prompts.Count; i++) Console.WriteLine($"### {prompts[i]}\n{responses[i]}\n");
    }

    /// <summary>A read–generate loop; chat models keep the conversation (trimmed to the context window).</summary>
    public void Chat(TextReader input, TextWriter output)
    {
        var history = new List<ConversationTurn>();
        output.WriteLine(generator.Chat ? "chat: type a message, an empty line to reset, Ctrl-D to quit" : "type text to continue, Ctrl-D to quit");
        while (true)
        {
            output.Write("> ");
            var line = input.ReadLine();
            if (line is null) return;
            if (line.Length == 0) { history.Clear(); continue; }
            history.Add(new ConversationTurn("user", line));
            // A plain model's history is only this line (cleared after every reply), so this encodes the line as-is.
            var ids = generator.EncodeConversation(history);
            var reply = generator.CompleteIds([ids], settings, _rng)[0];
            output.WriteLine(reply);
            if (generator.Chat) history.Add(new ConversationTurn("assistant", reply));
            else history.Clear();
        }
    }
}
