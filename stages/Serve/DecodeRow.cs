using TorchSharp;

namespace MiniLlmPipeline.Stages.Serve;

/// <summary>One choice of a job as a row of the decode batch.</summary>
internal sealed class DecodeRow(GenerationJob job, int choice, int maxTokens, torch.Generator rng) : IDisposable
{
    public GenerationJob Job => job;
    public int Choice => choice;
    /// <summary>Completion tokens this row may produce: the request's max_tokens, capped by the context left after the prompt.</summary>
    public int MaxTokens => maxTokens;
    /// <summary>This row's own generator, so a seeded request samples the same tokens whatever it is batched with.</summary>
    public torch.Generator Rng => rng;
    public int Generated { get; set; }
    /// <summary>The newest sampled token, fed at the next decode step; setting it counts it in <see cref="Counts"/>.</summary>
    public long LastToken
    {
        get => _lastToken;
        set
        {
            _lastToken = value;
            Counts[(int)value] = Counts.GetValueOrDefault((int)value) + 1;
        }
    }

    private long _lastToken;

    /// <summary>How often this row sampled each token, for the frequency and presence penalties.</summary>
    public Dictionary<int, int> Counts { get; } = [];
    /// <summary>The first KV-cache column that belongs to this row; the columns before it are masked out.</summary>
    public int Start { get; set; }
    /// <summary>Columns this row occupies in the cache (prompt + fed tokens).</summary>
    public int Length { get; set; }
    public bool Finished { get; set; }
    public bool Gone => Finished || job.ChoiceCancelled(choice);

    public void Dispose() => rng.Dispose();
}
