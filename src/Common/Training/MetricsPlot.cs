using System.Text.Json;

namespace MiniLlmPipeline.Training;

/// <summary>Line plots of metrics.jsonl series (loss curves, reward/KL) as PNG, drawn with ScottPlot.</summary>
public static class MetricsPlot
{
    /// <summary>Plots each (kind, key) series against step; series with no points are skipped.</summary>
    public static void Save(string metricsPath, string pngPath, string title, string yLabel,
        params (string Kind, string Key, string Label)[] series)
    {
        var records = MetricsLog.Read(metricsPath);
        var plot = new ScottPlot.Plot();
        var any = false;
        foreach (var (kind, key, label) in series)
        {
            var (steps, values) = Points(records, kind, key);
            if (steps.Length == 0) continue;
            AddLine(plot, steps, values, label);
            any = true;
        }
        if (!any) return;
        plot.Title(title);
        plot.XLabel("step");
        plot.YLabel(yLabel);
        plot.ShowLegend();
        plot.SavePng(pngPath, 800, 450);
    }

    /// <summary>The finite values of one (kind, key) series of metrics records, against step.</summary>
    public static (double[] Steps, double[] Values) Points(IReadOnlyList<Dictionary<string, JsonElement>> records, string kind, string key)
    {
        var points = records
            .Where(r => r.TryGetValue("kind", out var k) && k.GetString() == kind && r.ContainsKey(key)
                        && r[key].ValueKind == JsonValueKind.Number)
            .Select(r => (Step: r["step"].GetDouble(), Value: r[key].GetDouble()))
            .Where(p => double.IsFinite(p.Value))
            .ToArray();
        return (points.Select(p => p.Step).ToArray(), points.Select(p => p.Value).ToArray());
    }

    /// <summary>A labelled line; markers only while there are few enough points to tell apart.</summary>
    public static ScottPlot.Plottables.Scatter AddLine(ScottPlot.Plot plot, double[] steps, double[] values, string label)
    {
        var line = plot.Add.Scatter(steps, values);
        line.LegendText = label;
        line.MarkerSize = steps.Length > 50 ? 0 : 4;
        return line;
    }
}
