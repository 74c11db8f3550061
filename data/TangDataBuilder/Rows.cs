using MiniLlmPipeline.Evaluation;

namespace MiniLlmPipeline.TangData;

internal sealed record SftRow(string Prompt, string Response, PoetryForm Form);

internal sealed record PreferenceRow(string Prompt, string Chosen, string Rejected, RejectedKind Kind, PoetryForm Form);

internal sealed record PromptRow(string Prompt, PoetryForm Form, string Title);
