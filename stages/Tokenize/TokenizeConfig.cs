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
    /// <summary>
    /// Learn the BPE from only the first this many MB of <see cref="Data"/> (whole documents, shard order); 0 = all of it.
    /// Training memory grows with the distinct pre-tokens it sees, so a corpus of many GB can cap it here; the whole
    /// corpus is still encoded.
    /// </summary>
    public int BpeSampleMb { get; init; }

    public IEnumerable<(string Key, string Problem)> Problems()
    {
        if (VocabSize is < 300 or > 1_000_000) yield return ("vocab_size", "must be between 300 and 1000000 (256 byte tokens + merges + specials)");
        if (MinFrequency < 1) yield return ("min_frequency", "must be at least 1");
        if (BpeSampleMb < 0) yield return ("bpe_sample_mb", "must be 0 (learn from the whole corpus) or a positive number of MB");
    }
}
