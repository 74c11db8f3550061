namespace MiniLlmPipeline.Pipeline;

/// <summary><c>stages.sft</c>: supervised fine-tuning on chat-formatted prompt/response pairs.</summary>
public sealed record SftConfig : TrainingConfig
{
    public string From { get; init; } = StageNames.Pretrain;
    public required string Data { get; init; }
    public string? ValData { get; init; }
    /// <summary>Held-out prompts (with a <c>form</c> column) for the form-compliance check after training.</summary>
    public string? EvalPrompts { get; init; }
    public int EvalSamples { get; init; } = 64;
}
