using System.Diagnostics;
using System.Threading.Channels;

namespace MiniLlmPipeline.Stages.Serve;

/// <summary>What the scheduler reports for one choice: a sampled token, or that the choice finished.</summary>
internal readonly record struct TokenEvent(int Choice, int Token, string? Finish);

/// <summary>
/// One request handed to the <see cref="DecodeScheduler"/>: its prompt ids and sampling, decoded as
/// <see cref="N"/> rows of the shared batch. The scheduler writes <see cref="Events"/>; the HTTP handler
/// reads them and cancels the job when its client goes away (the rows leave the batch at the next step).
/// </summary>
internal sealed class GenerationJob(string id, int[] prompt, int n, int maxTokens, double temperature, double topP, ulong? seed, int[] stopIds)
{
    private readonly bool[] _choiceCancelled = new bool[n];
    private volatile bool _cancelled;

    public string Id => id;
    public int[] Prompt => prompt;
    public int N => n;
    public int MaxTokens => maxTokens;
    public double Temperature => temperature;
    public double TopP => topP;
    public bool Greedy => temperature == 0;
    /// <summary>OpenAI's penalties over the tokens this choice generated so far (Sampler.Penalize); 0 = off.</summary>
    public double FrequencyPenalty { get; init; }
    public double PresencePenalty { get; init; }
    /// <summary>Min-p (Nguyen et al. 2024) after temperature; 0 = off.</summary>
    public double MinP { get; init; }
    public bool HasPenalties => FrequencyPenalty != 0 || PresencePenalty != 0;
    public ulong? Seed => seed;
    public int[] StopIds => stopIds;
    public long EnqueuedAt { get; } = Stopwatch.GetTimestamp();

    /// <summary>Unbounded: a job never has more than n × max_tokens events, and the scheduler must never wait on a slow client.</summary>
    public Channel<TokenEvent> Events { get; } = Channel.CreateUnbounded<TokenEvent>(new() { SingleReader = true, SingleWriter = true });

    public bool Cancelled => _cancelled;

    public bool ChoiceCancelled(int choice) => _cancelled || Volatile.Read(ref _choiceCancelled[choice]);

    /// <summary>The client is gone or the handler is done: every row leaves the batch at the next step.</summary>
    public void Cancel() => _cancelled = true;

    /// <summary>One choice is done early (a stop sequence matched in its text).</summary>
    public void CancelChoice(int choice) => Volatile.Write(ref _choiceCancelled[choice], true);
}
