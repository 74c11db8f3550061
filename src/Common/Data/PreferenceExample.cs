namespace MiniLlmPipeline.Data;

/// <summary>One row of a preference dataset: for <see cref="Prompt"/>, <see cref="Chosen"/> is preferred over <see cref="Rejected"/>.</summary>
public sealed record PreferenceExample(string Prompt, string Chosen, string Rejected);
