using System.Text.RegularExpressions;
using System.Xml.Linq;
using MiniLlmPipeline.Pipeline;

namespace MiniLlmPipeline.Tests.Pipeline;

/// <summary>The catalog is the one list of stages: the Makefile, the projects and the default spec must agree with it.</summary>
public sealed partial class StageCatalogTests
{
    [GeneratedRegex(@"^\$\(eval \$\(call stage,(?<name>[a-z_]+),(?<project>[A-Za-z]+),(?<upstream>[a-z_ ]*)\)\)$", RegexOptions.Multiline)]
    private static partial Regex MakeStageLine();

    private static IReadOnlyList<(string Name, string Project, string[] Upstream)> MakefileStages() =>
        MakeStageLine().Matches(File.ReadAllText(RepoPaths.Under("Makefile")))
            .Select(m => (m.Groups["name"].Value, m.Groups["project"].Value,
                m.Groups["upstream"].Value.Split(' ', StringSplitOptions.RemoveEmptyEntries)))
            .ToList();

    [Fact]
    public void Makefile_HasOneTargetPerCatalogStage_InCatalogOrder()
    {
        Assert.Equal(StageCatalog.All.Select(s => (s.Name, s.Project)), MakefileStages().Select(m => (m.Name, m.Project)));
    }

    /// <summary>The config of a stage in the default spec, or in the tiny one for a stage the default pipeline does not run.</summary>
    private static object ConfigIn(string stage) =>
        new[] { "tang-poetry.yaml", "tiny.yaml" }.Select(f => PipelineSpecLoader.Load(RepoPaths.Under("pipelines", f)))
            .Select(spec => spec.Stages.GetValueOrDefault(stage)).FirstOrDefault(c => c is not null)
        ?? throw new InvalidOperationException($"neither pipelines/tang-poetry.yaml nor pipelines/tiny.yaml defines stage '{stage}'");

    [Fact]
    public void MakefileUpstreams_AreTheStagesTheDefaultSpecNames()
    {
        foreach (var (name, _, upstream) in MakefileStages())
        {
            var stage = StageCatalog.Find(name)!;
            var named = stage.References(ConfigIn(name)).Select(r => r.Stage).Order(StringComparer.Ordinal);
            Assert.True(named.SequenceEqual(upstream.Order(StringComparer.Ordinal)),
                $"Makefile: {name} depends on [{string.Join(" ", upstream)}], the default spec names [{string.Join(" ", named)}]");
        }
    }

    [Fact]
    public void EveryStage_IsAProjectWhoseProgramIsNamedAfterTheStage_AndIsInTheSolution()
    {
        var solution = File.ReadAllText(RepoPaths.Under("MiniLlmPipeline.sln"));
        foreach (var stage in StageCatalog.All)
        {
            var csproj = RepoPaths.Under("stages", stage.Project, stage.Project + ".csproj");
            Assert.True(File.Exists(csproj), $"{stage.Name}: {csproj} does not exist");
            Assert.Equal(stage.Name, XDocument.Load(csproj).Descendants("AssemblyName").Single().Value);
            Assert.Contains($@"stages\{stage.Project}\{stage.Project}.csproj", solution);
            Assert.Equal($"{stage.Project}Config", stage.ConfigType.Name);
            Assert.Equal($"MiniLlmPipeline.Stages.{stage.Project}", stage.ConfigType.Namespace);
        }
    }

    [Fact]
    public void StageNames_AreUnique_AndEveryStageComesAfterTheStagesItNames()
    {
        Assert.Equal(StageCatalog.All.Count, StageCatalog.All.Select(s => s.Name).Distinct().Count());
        var order = StageCatalog.All.Select(s => s.Name).ToList();
        foreach (var name in order)
            foreach (var reference in StageCatalog.Find(name)!.References(ConfigIn(name)))
                Assert.True(order.IndexOf(reference.Stage) < order.IndexOf(name), $"{name} names {reference.Stage}, which comes after it");
    }

    [Fact]
    public void Eval_ReportsEveryStageThatLeavesAModel()
    {
        Assert.Equal(["pretrain", "sft", "reward_model", "dpo", "ppo", "grpo", "distill"], StageCatalog.Reported.Select(s => s.Name));
    }
}
