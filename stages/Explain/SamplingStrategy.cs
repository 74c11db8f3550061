using MiniLlmPipeline.Generation;

namespace MiniLlmPipeline.Stages.Explain;

/// <summary>
/// One way of decoding that the page compares: sampling <see cref="Settings"/>, or beam search of
/// <see cref="BeamWidth"/> when that is positive.
/// </summary>
internal sealed record SamplingStrategy(string Name, SamplingSettings Settings, int BeamWidth = 0)
{
    /// <summary>
    /// The strategies of the comparison: greedy, temperature alone at four settings, each truncation at its common
    /// setting (top-k 40 as in Fan et al. 2018; top-p 0.9; min-p 0.1, in the range Nguyen et al. 2024 recommend), CTRL's
    /// θ = 1.2 on greedy decoding (the paper's setting), OpenAI-style penalties, and beam search of width 4.
    /// </summary>
    public static IReadOnlyList<SamplingStrategy> All(int maxNewTokens)
    {
        var basis = new SamplingSettings { MaxNewTokens = maxNewTokens };
        return
        [
            new("greedy", basis with { Greedy = true }),
            new("temperature 0.5", basis with { Temperature = 0.5 }),
            new("temperature 0.7", basis with { Temperature = 0.7 }),
            new("temperature 1.0", basis with { Temperature = 1.0 }),
            new("temperature 1.3", basis with { Temperature = 1.3 }),
            new("top-k 40", basis with { TopK = 40 }),
            new("top-p 0.9", basis with { TopP = 0.9 }),
            new("min-p 0.1", basis with { MinP = 0.1 }),
            new("min-p 0.1, temperature 1.3", basis with { MinP = 0.1, Temperature = 1.3 }),
            new("greedy, repetition penalty 1.2", basis with { Greedy = true, RepetitionPenalty = 1.2 }),
            new("temperature 0.7, frequency 0.5 + presence 0.5", basis with { Temperature = 0.7, FrequencyPenalty = 0.5, PresencePenalty = 0.5 }),
            new("beam search, width 4", basis with { Greedy = true }, BeamWidth: 4),
        ];
    }

    /// <summary>The settings in the spec's key names, as the page's table shows them.</summary>
    public string Describe()
    {
        if (BeamWidth > 0) return $"beam width {BeamWidth}, length penalty α = 1";
        var s = Settings;
        var parts = new List<string> { s.IsGreedy ? "argmax" : $"temperature {s.Temperature:0.##}" };
        if (s.TopK > 0) parts.Add($"top_k {s.TopK}");
        if (s.TopP < 1) parts.Add($"top_p {s.TopP:0.##}");
        if (s.MinP > 0) parts.Add($"min_p {s.MinP:0.##}");
        if (s.RepetitionPenalty != 1) parts.Add($"repetition_penalty {s.RepetitionPenalty:0.##}");
        if (s.FrequencyPenalty != 0) parts.Add($"frequency_penalty {s.FrequencyPenalty:0.##}");
        if (s.PresencePenalty != 0) parts.Add($"presence_penalty {s.PresencePenalty:0.##}");
        return string.Join(", ", parts);
    }
}
