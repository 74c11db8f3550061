namespace MiniLlmPipeline.Stages.Serve;

/// <summary>The server's bounds: batch and queue sizes, request sizes, defaults for what a request leaves out.</summary>
public sealed record ServeLimits
{
    /// <summary>Rows (choices) decoded together; more wait in the queue.</summary>
    public int MaxBatch { get; init; } = 32;
    /// <summary>Requests waiting for the batch; beyond this the server answers 429.</summary>
    public int MaxQueue { get; init; } = 64;
    /// <summary>Request bodies larger than this get 413.</summary>
    public long MaxBodyBytes { get; init; } = 1 << 20;
    /// <summary>Upper bound of max_tokens (the model's context bounds it too).</summary>
    public int MaxTokens { get; init; } = 1024;
    /// <summary>max_tokens when a request gives none (capped by the context left after the prompt).</summary>
    public int DefaultMaxTokens { get; init; } = 256;
    /// <summary>Largest n (choices per request).</summary>
    public int MaxChoices { get; init; } = 8;
    /// <summary>Largest prompt in tokens; 0 = the model's context minus one (room for one token).</summary>
    public int MaxPromptTokens { get; init; }
    /// <summary>Threads of the decoder (<see cref="Generation.CpuDecoder.Threads"/>); null = one, as the test suite's in-process hosts want.</summary>
    public int? Threads { get; init; }
    /// <summary>Seconds a 429 tells the client to wait.</summary>
    public int RetryAfterSeconds { get; init; } = 1;

    public IEnumerable<(string Key, string Problem)> Problems()
    {
        if (MaxBatch < 1) yield return ("max_batch", "must be at least 1");
        if (MaxQueue < 0) yield return ("max_queue", "must not be negative");
        if (MaxBodyBytes < 1024) yield return ("max_body_bytes", "must be at least 1024");
        if (MaxTokens < 1) yield return ("max_tokens", "must be at least 1");
        if (DefaultMaxTokens < 1) yield return ("default_max_tokens", "must be at least 1");
        if (MaxChoices < 1) yield return ("max_choices", "must be at least 1");
        if (MaxPromptTokens < 0) yield return ("max_prompt_tokens", "must not be negative (0 = the context minus one)");
        if (Threads is < 1) yield return ("threads", "must be at least 1");
    }
}
