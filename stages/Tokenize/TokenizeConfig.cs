using MiniLlmPipeline.Pipeline;

namespace MiniLlmPipeline.Stages.Tokenize;

/// <summary><c>stages.tokenize</c>: train a byte-level BPE on <see cref="Data"/> and encode it for pretraining.</summary>
public sealed record TokenizeConfig : IStageConfig
{
    public required string Data { get; init; }
    /// <summary>Validation text, encoded with the trained tokenizer; optional.</summary>
    public string? ValData { get; init; }
    public int VocabSize { get; init; } = 4096;
    public int MinFrequency { get; init; } = 2;

    public IEnumerable<(string Key, string Problem)> Problems()
    {
        if (VocabSize is < 300 or > 1_000_000) yield return ("vocab_size", "must be between 300 and 1000000 (256 byte tokens + merges + specials)");
        if (MinFrequency < 1) yield return ("min_frequency", "must be at least 1");
    }
}
