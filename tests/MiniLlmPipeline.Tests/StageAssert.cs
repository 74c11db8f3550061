namespace MiniLlmPipeline.Tests;

/// <summary>The outcomes every stage program shares, checked the same way for all of them.</summary>
public static class StageAssert
{
    /// <summary>A rerun with nothing changed exits 0 and says it skipped the work.</summary>
    public static void UpToDate(StageProcess.Result rerun)
    {
        Assert.True(rerun.ExitCode == 0, rerun.ToString());
        Assert.Contains("up to date", rerun.StdErr);
    }

    /// <summary>Bad input: exit code 1, stderr says each of <paramref name="says"/>, and no stack trace.</summary>
    public static void FailedClearly(StageProcess.Result result, params string[] says)
    {
        Assert.True(result.ExitCode == 1, result.ToString());
        foreach (var text in says) Assert.Contains(text, result.StdErr);
        Assert.DoesNotContain("   at ", result.StdErr);
    }
}
