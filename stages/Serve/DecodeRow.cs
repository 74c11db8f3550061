using MiniLlmPipeline.Generation;

namespace MiniLlmPipeline.Stages.Serve;

/// <summary>One choice of a job as a row of the decode batch, in a cache slot of its own.</summary>
internal sealed class DecodeRow(GenerationJob job, int choice, int slot, int maxTokens, CpuSampler sampler)
{
    public GenerationJob Job => job;
    public int Choice => choice;
    /// <summary>The row's slot in the scheduler's <see cref="DecodeCache"/>.</summary>
    public int Slot => slot;
    /// <summary>Completion tokens this row may produce: the request's max_tokens, capped by the context left after the prompt.</summary>
    public int MaxTokens => maxTokens;
    /// <summary>This row's own sampler and seed, so a seeded request samples the same tokens whatever it is batched with.</summary>
    public CpuSampler Sampler => sampler;
    /// <summary>The tokens sampled so far (the penalties count them).</summary>
    public List<int> Tokens { get; } = [];
    public int Generated => Tokens.Count;
    /// <summary>The newest sampled token, fed at the next decode step.</summary>
    public int LastToken => Tokens[^1];
    /// <summary>False until the prompt has been fed (the row's first step is its prefill).</summary>
    public bool Prefilled { get; set; }
    public bool Finished { get; set; }
    public bool Gone => Finished || job.ChoiceCancelled(choice);
}
