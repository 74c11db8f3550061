using MiniLlmPipeline.Model;
using MiniLlmPipeline.Pipeline;
using MiniLlmPipeline.Training;

namespace MiniLlmPipeline.Stages.Distill;

/// <summary>
/// <c>stages.distill</c>: knowledge distillation (Hinton et al. 2015): a student of its own shape (<see cref="Model"/>),
/// trained from random weights, learns the <see cref="Teacher"/> stage's next-token distributions at
/// <see cref="Temperature"/>, mixed with the data's next token by <see cref="Alpha"/>, on pretraining text or on SFT
/// conversations (<see cref="Dataset"/>).
/// </summary>
public sealed record DistillConfig : TrainingConfig, IStageConfig
{
    /// <summary><c>dataset: conversations</c>: a messages (or prompt/response) Parquet, loss on assistant tokens only, as sft.</summary>
    public const string Conversations = "conversations";
    /// <summary><c>dataset: text</c>: the tokenize stage's corpus (or a Parquet text file), every token, as pretrain.</summary>
    public const string Text = "text";

    /// <summary>The stage whose model teaches (any stage that leaves a language model); frozen, read only.</summary>
    public string Teacher { get; init; } = StageCatalog.Sft.Name;
    /// <summary>The tokenize stage: the student's tokenizer (the teacher's must be the same one) and, for text, its corpus.</summary>
    public string From { get; init; } = StageCatalog.Tokenize.Name;
    public string Dataset { get; init; } = Conversations;
    /// <summary>Conversations: the training Parquet (required). Text: a Parquet text file instead of the tokenize stage's corpus.</summary>
    public string? Data { get; init; }
    public string? ValData { get; init; }
    /// <summary>
    /// The student's shape. Keys it leaves out are the pipeline's <c>model:</c> (the spec loader fills them in), so
    /// <c>model: { d_model: 128, ffn_hidden: 352 }</c> is the pipeline's model at half the width; null: the pipeline's model.
    /// </summary>
    public ModelSpec? Model { get; init; }
    /// <summary>τ: both distributions are softened as softmax(z/τ) before their KL is taken.</summary>
    public double Temperature { get; init; } = 2.0;
    /// <summary>α: the weight of the soft (teacher) term; 0 trains the same student on the data alone, the baseline.</summary>
    public double Alpha { get; init; } = 0.5;

    ModelSpec? IStageConfig.CheckpointModel => Model;

    /// <summary>Text: the tokenize stage's val.bin, or val_data with a data file of its own; conversations: val_data.</summary>
    public override bool HasValidationData => Dataset == Text ? Data is null || ValData is not null : ValData is not null;

    public override IEnumerable<(string Key, string Problem)> Problems()
    {
        foreach (var problem in base.Problems()) yield return problem;
        if (Dataset is not (Conversations or Text)) yield return ("dataset", $"must be '{Conversations}' or '{Text}'");
        else if (Dataset == Conversations && Data is null) yield return ("data", $"dataset '{Conversations}' needs a messages (or prompt/response) Parquet file");
        if (!double.IsFinite(Temperature) || Temperature <= 0) yield return ("temperature", "must be a positive number (τ in softmax(z/τ))");
        if (!(Alpha is >= 0 and <= 1)) yield return ("alpha", "must be in [0, 1] (the weight of the teacher's soft term; 0 trains without the teacher)");
        if (Model is not null)
            foreach (var (key, problem) in Model.Problems()) yield return ($"model.{key}", problem);
        // The student starts from random weights (Hinton's student is trained, not adapted); LoRA adapts a trained model.
        if (Lora is not null) yield return ("lora", "the student starts from random weights; LoRA adapts a trained model (use it on sft, reward_model, dpo, ppo or grpo)");
    }
}
