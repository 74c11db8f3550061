using MiniLlmPipeline.Pipeline;
using MiniLlmPipeline.Training;

namespace MiniLlmPipeline.Stages.Sft;

/// <summary><c>stages.sft</c>: supervised fine-tuning on chat-formatted prompt/response pairs.</summary>
public sealed record SftConfig : TrainingConfig, IStageConfig
{
    public string From { get; init; } = StageCatalog.Pretrain.Name;
    public required string Data { get; init; }
    public string? ValData { get; init; }
    /// <summary>Held-out prompts (with a <c>form</c> column) for the form-compliance check after training.</summary>
    public string? EvalPrompts { get; init; }
    /// <summary>How many of <see cref="EvalPrompts"/> to answer before and after training; 0 skips the check.</summary>
    public int EvalSamples { get; init; } = 64;

    public override bool HasValidationData => ValData is not null;

    public override IEnumerable<(string Key, string Problem)> Problems()
    {
        foreach (var problem in base.Problems()) yield return problem;
        if (EvalSamples < 0) yield return ("eval_samples", "must not be negative (0 skips the form-compliance check)");
    }
}
