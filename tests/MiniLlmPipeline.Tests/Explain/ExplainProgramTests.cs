using System.Text.RegularExpressions;
using MiniLlmPipeline.Pipeline;

namespace MiniLlmPipeline.Tests.Explain;

/// <summary>The explain program on the tiny pipeline: one self-contained page with every section, or one sentence on bad input.</summary>
public sealed partial class ExplainProgramTests
{
    private static StageProcess.Result Explain(string runDir, params string[] args) =>
        StageProcess.RunProgram("Explain", "explain", ["--pipeline", TinyRuns.Spec, "--set", $"run_dir={runDir}", .. args]);

    [GeneratedRegex("data:image/png;base64,([A-Za-z0-9+/=]+)")]
    private static partial Regex PngUri();

    [GeneratedRegex(@"(src|href)=""(?!data:|#)[^""]*""")]
    private static partial Regex ExternalReference();

    [Fact]
    public void BadInput_ExitsOne_WithOneSentence_AndWritesNothing()
    {
        using var dir = new TempDir();
        var unknown = Explain(dir.Path, "--from", "sft tokenize");
        Assert.Equal(StageCli.ExitBadInput, unknown.ExitCode);
        Assert.Contains("--from: 'tokenize' is not a stage that leaves a language model (pretrain | sft | dpo | ppo | grpo | distill)", unknown.StdErr);
        var missing = Explain(dir.Path, "--from", "sft");
        Assert.Equal(StageCli.ExitBadInput, missing.ExitCode);
        Assert.Contains("stage 'explain' needs the checkpoint of stage 'sft'", missing.StdErr);
        Assert.Single(missing.StdErr.Trim().Split('\n'));
        Assert.False(Directory.Exists(Path.Combine(dir.Path, "explain")));
    }

    [Fact]
    public void TwoStages_SideBySide_OnOneSelfContainedPage_WithEverySection()
    {
        using var dir = new TempDir();
        TinyRuns.CopyUpTo(StageCatalog.Sft.Name, dir.Path);
        var result = Explain(dir.Path, "--from", "pretrain sft", "--samples", "2", "--max-new-tokens", "6", "--prompt", "写一首五言绝句，题为《春晓》");
        Assert.True(result.ExitCode == 0, result.ToString());
        var page = Path.Combine(dir.Path, "explain", "pretrain-sft", "index.html");
        Assert.Equal(page, result.StdOut.Trim());
        var html = File.ReadAllText(page);

        foreach (var section in new[] { "anatomy", "training", "attention", "next-token", "sampling" })
            Assert.Contains($"<section id=\"{section}\">", html);
        Assert.Contains("<h3>pretrain</h3>", html);
        Assert.Contains("<h3>sft</h3>", html);
        Assert.Contains("写一首五言绝句，题为《春晓》", html);
        foreach (var strategy in new[] { "greedy", "temperature 1.3", "top-k 40", "top-p 0.9", "min-p 0.1", "repetition penalty 1.2", "beam search, width 4" })
            Assert.Contains(strategy, html);

        // Tiny model: 2 layers × (4 heads + the mean) per stage, each a valid PNG embedded in the page.
        var images = PngUri().Matches(html).Select(m => Convert.FromBase64String(m.Groups[1].Value)).ToList();
        Assert.Equal(2 * 2 * (4 + 1), images.Count);
        byte[] signature = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A];
        Assert.All(images, png => Assert.Equal(signature, png[..8]));
        Assert.Empty(ExternalReference().Matches(html));
        Assert.DoesNotContain("<script", html);
    }
}
