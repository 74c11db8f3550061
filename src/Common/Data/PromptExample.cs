namespace MiniLlmPipeline.Data;

/// <summary>A prompt for generation (PPO, eval), with any extra string columns of its row (e.g. <c>form</c>, <c>title</c>).</summary>
public sealed record PromptExample(string Prompt, IReadOnlyDictionary<string, string> Extra)
{
    public string? Get(string column) => Extra.TryGetValue(column, out var v) ? v : null;
}
