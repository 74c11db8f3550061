using MiniLlmPipeline.Pipeline;
using MiniLlmPipeline.Training;

namespace MiniLlmPipeline.Stages.Dpo;

/// <summary><c>stages.dpo</c>: Direct Preference Optimization against a frozen reference.</summary>
public sealed record DpoConfig : TrainingConfig, IStageConfig
{
    public string From { get; init; } = StageCatalog.Sft.Name;
    public required string Data { get; init; }
    public string? ValData { get; init; }
    public double Beta { get; init; } = 0.1;
    /// <summary>cDPO label smoothing ε (0 = plain DPO).</summary>
    public double LabelSmoothing { get; init; }
    /// <summary><c>sigmoid</c> (DPO) or <c>ipo</c>.</summary>
    public string LossType { get; init; } = "sigmoid";
    /// <summary>Held-out prompts (with a <c>form</c> column) for the form-compliance check before and after training.</summary>
    public string? EvalPrompts { get; init; }
    /// <summary>How many of <see cref="EvalPrompts"/> to answer before and after training; 0 skips the check.</summary>
    public int EvalSamples { get; init; } = 64;

    public override IEnumerable<(string Key, string Problem)> Problems()
    {
        foreach (var problem in base.Problems()) yield return problem;
        if (Beta <= 0) yield return ("beta", "must be positive");
        if (LabelSmoothing is < 0 or >= 0.5) yield return ("label_smoothing", "must be in [0, 0.5)");
        if (EvalSamples < 0) yield return ("eval_samples", "must not be negative (0 skips the form-compliance check)");
        if (LossType is not ("sigmoid" or "ipo")) yield return ("loss_type", "must be 'sigmoid' or 'ipo'");
    }
}
