namespace MiniLlmPipeline.Pipeline;

/// <summary>Stage names as they appear under <c>stages:</c> and as run-folder names.</summary>
public static class StageNames
{
    public const string Tokenize = "tokenize";
    public const string Pretrain = "pretrain";
    public const string Sft = "sft";
    public const string RewardModel = "reward_model";
    public const string Dpo = "dpo";
    public const string Ppo = "ppo";
    public const string Eval = "eval";

    public static readonly IReadOnlyList<string> All = [Tokenize, Pretrain, Sft, RewardModel, Dpo, Ppo, Eval];
}
