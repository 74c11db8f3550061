namespace MiniLlmPipeline.Alignment;

/// <summary>
/// A preference dataset rendered for training: the usable <see cref="Pairs"/>, how many examples were
/// <see cref="Dropped"/> (the prompt alone fills max_seq_len, so no response token is left to score) and how many
/// usable pairs had a response <see cref="Truncated"/> at max_seq_len.
/// </summary>
public sealed record RenderedPreferences(IReadOnlyList<PreferencePair> Pairs, int Dropped, int Truncated)
{
    /// <summary>One line for a stage's log.</summary>
    public string Describe(string name) =>
        $"{name}: {Pairs.Count:N0} pairs" +
        (Dropped > 0 ? $", {Dropped:N0} dropped (prompt fills max_seq_len)" : "") +
        (Truncated > 0 ? $", {Truncated:N0} with a response cut at max_seq_len" : "");
}
