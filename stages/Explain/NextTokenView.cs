namespace MiniLlmPipeline.Stages.Explain;

/// <summary>
/// At one answer position: the token the model produced, its probability, the <see cref="ExplainOptions.Candidates"/>
/// likeliest tokens with their probabilities, and the entropy of the whole distribution in nats.
/// </summary>
internal sealed record NextTokenView(string Chosen, double ChosenProbability, double Entropy, IReadOnlyList<(string Token, double Probability)> Top);
