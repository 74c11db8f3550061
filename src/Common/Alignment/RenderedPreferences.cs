namespace MiniLlmPipeline.Alignment;

/// <summary>
/// A preference dataset rendered for training: the usable <see cref="Pairs"/>, how many examples were
/// <see cref="Dropped"/> (the prompt alone fills max_seq_len, so no response token is left to score) and how many
/// usable pairs had a response <see cref="Truncated"/> at max_seq_len.
/// </summary>
public sealed record RenderedPreferences(IReadOnlyList<PreferencePair> Pairs, int Dropped, int Truncated)
{
    /// <summary>Mean tokens per response-bearing sequence (chosen and rejected averaged): the length FLOPs are counted at.</summary>
    public double MeanLength => Pairs.Average(p => (p.Chosen.Ids.Length + p.Rejected.Ids.Length) / 2.0);

    /// <summary>The manifest's record of what training used: train_pairs, dropped_pairs, truncated_pairs.</summary>
    public void AddTo(IDictionary<string, double> metrics)
    {
        metrics["train_pairs"] = Pairs.Count;
        metrics["dropped_pairs"] = Dropped;
        metrics["truncated_pairs"] = Truncated;
    }

    /// <summary>One line for a stage's log.</summary>
    public string Describe(string name) =>
        $"{name}: {Pairs.Count:N0} pairs" +
        (Dropped > 0 ? $", {Dropped:N0} dropped (prompt fills max_seq_len)" : "") +
        (Truncated > 0 ? $", {Truncated:N0} with a response cut at max_seq_len" : "");
}
