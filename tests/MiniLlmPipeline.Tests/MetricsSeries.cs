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
}
