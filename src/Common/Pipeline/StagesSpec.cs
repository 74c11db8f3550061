namespace MiniLlmPipeline.Pipeline;

/// <summary>The <c>stages:</c> block: each stage is optional; a missing one cannot be run or named by <c>from:</c>.</summary>
public sealed record StagesSpec
{
    public TokenizeConfig? Tokenize { get; init; }
    public PretrainConfig? Pretrain { get; init; }
    public SftConfig? Sft { get; init; }
    public RewardModelConfig? RewardModel { get; init; }
    public DpoConfig? Dpo { get; init; }
    public PpoConfig? Ppo { get; init; }
    public EvalConfig? Eval { get; init; }

    /// <summary>The config of a stage by its YAML name, or null when the spec does not define it.</summary>
    public object? Get(string stage) => stage switch
    {
        StageNames.Tokenize => Tokenize,
        StageNames.Pretrain => Pretrain,
        StageNames.Sft => Sft,
        StageNames.RewardModel => RewardModel,
        StageNames.Dpo => Dpo,
        StageNames.Ppo => Ppo,
        StageNames.Eval => Eval,
        _ => null,
    };
}
