using MiniLlmPipeline.Stages.Distill;
using MiniLlmPipeline.Stages.Dpo;
using MiniLlmPipeline.Stages.Eval;
using MiniLlmPipeline.Stages.Grpo;
using MiniLlmPipeline.Stages.Ppo;
using MiniLlmPipeline.Stages.Pretrain;
using MiniLlmPipeline.Stages.RewardModel;
using MiniLlmPipeline.Stages.Sft;
using MiniLlmPipeline.Stages.Tokenize;

namespace MiniLlmPipeline.Pipeline;

/// <summary>
/// Every stage, declared once, in pipeline order. The spec's <c>stages:</c> keys, the reference checks of
/// <c>from:</c>-like keys, input hashing, the rows eval reports, the tests' stage list and the Makefile's targets
/// (checked by a test) all come from this list. Adding a stage: its folder under stages/ and one entry here.
/// </summary>
public static class StageCatalog
{
    /// <summary>What <c>from:</c> of a fine-tuning or alignment stage may name: any stage that leaves a language model.</summary>
    private static readonly StageOutput[] Policy = [StageOutput.Policy];

    public static readonly Stage<TokenizeConfig> Tokenize = new("tokenize", "Tokenize", StageOutput.Tokenizer,
        references: _ => [],
        dataFiles: c => [("data", c.Data), ("val_data", c.ValData)]);

    public static readonly Stage<PretrainConfig> Pretrain = new("pretrain", "Pretrain", StageOutput.Policy,
        references: c => [new("from", c.From, [StageOutput.Tokenizer])],
        dataFiles: c => [("data", c.Data), ("val_data", c.ValData)]);

    public static readonly Stage<SftConfig> Sft = new("sft", "Sft", StageOutput.Policy,
        references: c => [new("from", c.From, Policy)],
        dataFiles: c => [("data", c.Data), ("val_data", c.ValData), ("eval_prompts", c.EvalPrompts)]);

    public static readonly Stage<RewardModelConfig> RewardModel = new("reward_model", "RewardModel", StageOutput.RewardModel,
        references: c => [new("from", c.From, Policy)],
        dataFiles: c => [("data", c.Data), ("val_data", c.ValData)]);

    public static readonly Stage<DpoConfig> Dpo = new("dpo", "Dpo", StageOutput.Policy,
        references: c => c.RewardModel is null
            ? [new("from", c.From, Policy)]
            : [new("from", c.From, Policy), new("reward_model", c.RewardModel, [StageOutput.RewardModel])],
        dataFiles: c => [("data", c.Data), ("val_data", c.ValData), ("prompts", c.Prompts), ("eval_prompts", c.EvalPrompts)]);

    public static readonly Stage<PpoConfig> Ppo = new("ppo", "Ppo", StageOutput.Policy,
        references: c => [new("from", c.From, Policy), new("reward_model", c.RewardModel, [StageOutput.RewardModel])],
        dataFiles: c => [("prompts", c.Prompts), ("eval_prompts", c.EvalPrompts)]);

    public static readonly Stage<GrpoConfig> Grpo = new("grpo", "Grpo", StageOutput.Policy,
        references: c => c.RewardModel is null
            ? [new("from", c.From, Policy)]
            : [new("from", c.From, Policy), new("reward_model", c.RewardModel, [StageOutput.RewardModel])],
        dataFiles: c => [("prompts", c.Prompts), ("eval_prompts", c.EvalPrompts)]);

    /// <summary>
    /// A smaller student of its own <c>model:</c> learns a teacher's next-token distributions; it names the teacher and the
    /// tokenize stage whose tokenizer (and, for text, corpus) it trains on. Last of the trainers, so any of them can teach.
    /// </summary>
    public static readonly Stage<DistillConfig> Distill = new("distill", "Distill", StageOutput.Policy,
        references: c => [new("teacher", c.Teacher, Policy), new("from", c.From, [StageOutput.Tokenizer])],
        dataFiles: c => [("data", c.Data), ("val_data", c.ValData)]);

    /// <summary>Eval reads every stage that leaves a model and completed; the others get a "not run" row.</summary>
    public static readonly Stage<EvalConfig> Eval = new("eval", "Eval", StageOutput.Report,
        references: _ => Reported.Select(s => new StageReference(s.Name, s.Name, [s.Output], Optional: true)),
        dataFiles: c => [("prompts", c.Prompts), ("val_data", c.ValData), ("preferences", c.Preferences)]);

    /// <summary>All stages in pipeline order (each one's upstream stages come before it).</summary>
    public static IReadOnlyList<IStage> All { get; } = [Tokenize, Pretrain, Sft, RewardModel, Dpo, Ppo, Grpo, Distill, Eval];

    /// <summary>The stages eval compares, in pipeline order: every stage that leaves a model.</summary>
    public static IReadOnlyList<IStage> Reported => All.Where(s => s.Output is StageOutput.Policy or StageOutput.RewardModel).ToList();

    public static IStage? Find(string name) => All.FirstOrDefault(s => s.Name == name);
}
