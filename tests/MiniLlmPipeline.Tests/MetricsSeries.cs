using MiniLlmPipeline.Training;

namespace MiniLlmPipeline.Tests;

/// <summary>One logged series of a stage's metrics.jsonl (read through <see cref="MetricsLog.Read"/>), by step.</summary>
public static class MetricsSeries
{
    /// <summary>Value of <paramref name="key"/> in the <paramref name="kind"/> records, the last one logged at each step.</summary>
    public static SortedDictionary<int, double> Of(string stageDir, string key, string kind = "train")
    {
        var series = new SortedDictionary<int, double>();
        foreach (var record in MetricsLog.Read(Path.Combine(stageDir, MetricsLog.FileName)))
            if (record["kind"].GetString() == kind && record.TryGetValue(key, out var value))
                series[record["step"].GetInt32()] = value.GetDouble();
        return series;
    }

    /// <summary>
    /// Asserts two runs of a stage logged training losses at the same steps, equal to 1e-4 (e.g. a killed-and-resumed
    /// run against one that was never interrupted; the last value logged at each step counts).
    /// </summary>
    public static void AssertSameLosses(string expectedStageDir, string actualStageDir)
    {
        var expected = Of(expectedStageDir, "loss");
        var actual = Of(actualStageDir, "loss");
        Assert.Equal(expected.Keys, actual.Keys);
        foreach (var (step, loss) in expected) Assert.True(Math.Abs(loss - actual[step]) < 1e-4, $"step {step}: {loss} vs {actual[step]}");
    }
}
