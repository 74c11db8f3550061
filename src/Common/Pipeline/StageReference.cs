namespace MiniLlmPipeline.Pipeline;

/// <summary>
/// A key of a stage's config that names another stage (<c>from: sft</c>, <c>reward_model: reward_model</c>), the
/// kinds of stage it may name, and whether the stage can run without it (eval reports the stages that completed).
/// </summary>
public sealed record StageReference(string Key, string Stage, IReadOnlyList<StageOutput> Accepts, bool Optional = false);
