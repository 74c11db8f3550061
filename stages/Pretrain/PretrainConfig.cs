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

    /// <summary>The tokenize stage's val.bin, or val_data with a data file of its own.</summary>
    public override bool HasValidationData => Data is null || ValData is not null;

    public override IEnumerable<(string Key, string Problem)> Problems()
    {
        foreach (var problem in base.Problems()) yield return problem;
        // Low-rank updates adapt a trained model (Hu et al. 2021); from random weights there is nothing to adapt.
        if (Lora is not null) yield return ("lora", "pretraining starts from random weights; LoRA adapts a trained model (use it on sft, reward_model, dpo, ppo or grpo)");
    }
}
