using System.Runtime.CompilerServices;
using MiniLlmPipeline.Training;
using TorchSharp;

namespace MiniLlmPipeline.Tests;

/// <summary>
/// In-process tests compute on one libtorch thread, as the stage processes they start do (MINILLM_THREADS=1).
/// libtorch's thread count is process-wide, and test classes run in parallel: while it could differ, one test's
/// <see cref="TorchRuntime.ForDecoding"/> changed the count under another test's training step, and float sums
/// reduced in another order broke exact comparisons between two runs (the PPO and DPO resume tests failed now and
/// then). At one thread, ForDecoding's switch is a no-op for everyone else.
/// </summary>
internal static class TestThreads
{
#pragma warning disable CA2255 // A test assembly's process-wide setting, before any test runs, is what a module initializer is for.
    [ModuleInitializer]
#pragma warning restore CA2255
    internal static void UseOneThread() => torch.set_num_threads(TorchRuntime.DecodingThreads);
}

/// <summary>Tests that change libtorch's process-wide thread count: they run alone, after the parallel ones.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class ThreadCountChangingTests
{
    public const string Name = "changes the libtorch thread count";
}
