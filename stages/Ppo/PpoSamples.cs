using MiniLlmPipeline.Data;
using MiniLlmPipeline.Rlhf;
using MiniLlmPipeline.Tokenization;

namespace MiniLlmPipeline.Stages.Ppo;

/// <summary>A few rollout responses of an iteration, printed and appended to samples.md (restarted by iteration 0), to watch PPO's effect.</summary>
public sealed class PpoSamples(string path, TextTokenizer tokenizer, IReadOnlyList<PromptExample> prompts, Action<string> log)
{
    private const int PerIteration = 3;

    public void Write(PpoIterationSummary summary)
    {
        var entries = Enumerable.Range(0, Math.Min(PerIteration, summary.Responses.Count)).Select(row =>
            $"### {prompts[summary.PromptIndices[row]].Prompt}  [score {summary.Scores[row]:F3}]\n" +
            tokenizer.Decode(summary.Responses[row], skipSpecialTokens: true).Trim());
        var text = $"## Iteration {summary.Iteration + 1}\n\n{string.Join("\n\n", entries)}\n\n";
        log("samples:\n" + text.TrimEnd());
        if (summary.Iteration == 0) File.WriteAllText(path, "# PPO rollout samples\n\n" + text);
        else File.AppendAllText(path, text);
    }
}
