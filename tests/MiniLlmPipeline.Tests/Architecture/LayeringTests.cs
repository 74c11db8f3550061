using MiniLlmPipeline.Pipeline;
using NetArchTest.Rules;

namespace MiniLlmPipeline.Tests.Architecture;

/// <summary>
/// Common is layered: each namespace may use the ones below it and never one above, so the model and the trainer can
/// be read (and reused) without the spec, CLI and manifest machinery on top. Checked on the compiled assembly's type
/// references (NetArchTest), not on using directives.
/// </summary>
public sealed class LayeringTests
{
    /// <summary>Common's namespaces, lowest first. The stage config records (MiniLlmPipeline.Stages.*) belong to the top.</summary>
    private static readonly string[] Layers =
    [
        "IO",            // atomic files, hashes, JSON settings, typed user errors
        "Data",          // Parquet datasets, token files, batching, seeds
        "Tokenization",  // BPE, tokenizer loading, chat template
        "Model",         // the GPT, its config, checkpoints
        "Training",      // the trainer loop, optimizer, metrics
        "Alignment",     // losses and RL math
        "Generation",    // sampling and KV-cached decoding
        "Evaluation",    // the form checker, compliance, the report
        "Rlhf",          // what RL stages share: rollouts, rewards, frozen references, prompt sets
        "Pipeline",      // spec, stage catalog, CLI, manifests, locks
    ];

    private const string Prefix = "MiniLlmPipeline.";
    private const string StageConfigs = "MiniLlmPipeline.Stages";

    public static TheoryData<string> LayerNames() => new(Layers);

    [Theory]
    [MemberData(nameof(LayerNames))]
    public void Namespace_UsesNoNamespaceAboveIt(string layer)
    {
        var above = Layers.SkipWhile(l => l != layer).Skip(1).Select(l => Prefix + l).ToList();
        if (layer != "Pipeline") above.Add(StageConfigs);
        if (above.Count == 0) return;
        var result = Types.InAssembly(typeof(StageCatalog).Assembly)
            .That().ResideInNamespace(Prefix + layer)
            .ShouldNot().HaveDependencyOnAny([.. above])
            .GetResult();
        Assert.True(result.IsSuccessful,
            $"{Prefix}{layer} uses a namespace above it: {string.Join(", ", result.FailingTypes.Select(t => t.FullName))}");
    }

    [Fact]
    public void EveryNamespaceOfCommon_HasALayer()
    {
        var namespaces = typeof(StageCatalog).Assembly.GetTypes()
            .Select(t => t.Namespace)
            .Where(n => n is not null && n.StartsWith(Prefix, StringComparison.Ordinal) && !n.StartsWith(StageConfigs, StringComparison.Ordinal))
            .Distinct();
        Assert.All(namespaces, n => Assert.Contains(n![Prefix.Length..].Split('.')[0], Layers));
    }
}
