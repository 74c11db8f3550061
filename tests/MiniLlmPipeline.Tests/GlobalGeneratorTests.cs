namespace MiniLlmPipeline.Tests;

/// <summary>
/// Tests that seed libtorch's global generator, build models or train in-process, and compare two runs exactly (resume
/// tests, a policy that must equal its reference, an fp32 and a bf16 model built from one seed). The generator is
/// process-wide and test classes run in parallel: another class's <c>manual_seed</c> (the trainer seeds every step) between
/// their seeding and a model's initialisation changed their weights, and the PPO resume and mixed-precision tests failed
/// now and then. They run alone, after the parallel ones.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class GlobalGeneratorTests
{
    public const string Name = "seeds libtorch's global generator";
}
