using MiniLlmPipeline.Pipeline;
using MiniLlmPipeline.Training;

namespace MiniLlmPipeline.Stages.Pretrain;

/// <summary><c>stages.pretrain</c>: next-token prediction on the tokenize stage's encoded corpus.</summary>
public sealed record PretrainConfig : TrainingConfig, IStageConfig
{
    /// <summary>The stage whose tokenizer (and, unless <see cref="Data"/> is set, encoded corpus) is used.</summary>
    public string From { get; init; } = StageCatalog.Tokenize.Name;
    /// <summary>Optional Parquet <c>text</c> file to train on instead of the tokenize stage's corpus.</summary>
    public string? Data { get; init; }
    public string? ValData { get; init; }
}
