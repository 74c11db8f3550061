namespace MiniLlmPipeline.Pipeline;

/// <summary><c>stages.dpo</c>: Direct Preference Optimization against a frozen reference.</summary>
public sealed record DpoConfig : TrainingConfig
{
    public string From { get; init; } = StageNames.Sft;
    public required string Data { get; init; }
    public string? ValData { get; init; }
    public double Beta { get; init; } = 0.1;
    /// <summary>cDPO label smoothing ε (0 = plain DPO).</summary>
    public double LabelSmoothing { get; init; }
    /// <summary><c>sigmoid</c> (DPO) or <c>ipo</c>.</summary>
    public string LossType { get; init; } = "sigmoid";
    public string? EvalPrompts { get; init; }
    public int EvalSamples { get; init; } = 64;

    public override IEnumerable<(string Key, string Problem)> Problems()
    {
        foreach (var problem in base.Problems()) yield return problem;
        if (Beta <= 0) yield return ("beta", "must be positive");
        if (LabelSmoothing is < 0 or >= 0.5) yield return ("label_smoothing", "must be in [0, 0.5)");
        if (LossType is not ("sigmoid" or "ipo")) yield return ("loss_type", "must be 'sigmoid' or 'ipo'");
    }
}
