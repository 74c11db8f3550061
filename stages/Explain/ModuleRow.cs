namespace MiniLlmPipeline.Stages.Explain;

/// <summary>One parameter tensor of the model: its Hugging Face name, shape, size, and the part of the model it belongs to.</summary>
internal sealed record ModuleRow(string Name, IReadOnlyList<long> Shape, long Parameters, string Part);
