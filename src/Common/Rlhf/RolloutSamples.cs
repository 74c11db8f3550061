using MiniLlmPipeline.Data;
using MiniLlmPipeline.Tokenization;

namespace MiniLlmPipeline.Rlhf;

/// <summary>
/// A few rollout responses of an RL iteration, printed and appended to samples.md (restarted by iteration 0), to watch
/// what the stage teaches. <paramref name="title"/> heads the file (e.g. "PPO rollout samples").
/// </summary>
public sealed class RolloutSamples(string path, string title, TextTokenizer tokenizer, IReadOnlyList<PromptExample> prompts, Action<string> log)
{
    private const int PerIteration = 3;

    /// <param name="rows">Which rows of the rollout to show (default: the first three).</param>
    public void Write(int iteration, IReadOnlyList<int> promptIndices, IReadOnlyList<int[]> responses, IReadOnlyList<float> scores,
        IReadOnlyList<int>? rows = null)
    {
        rows ??= Enumerable.Range(0, Math.Min(PerIteration, responses.Count)).ToList();
        var entries = rows.Select(row =>
            $"### {prompts[promptIndices[row]].Prompt}  [score {scores[row]:F3}]\n" +
            tokenizer.Decode(responses[row], skipSpecialTokens: true).Trim());
        var text = $"## Iteration {iteration + 1}\n\n{string.Join("\n\n", entries)}\n\n";
        log("samples:\n" + text.TrimEnd());
        if (iteration == 0) File.WriteAllText(path, $"# {title}\n\n" + text);
        else File.AppendAllText(path, text);
    }
}
