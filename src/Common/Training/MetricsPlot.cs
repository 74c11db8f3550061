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
            var points = records
                .Where(r => r.TryGetValue("kind", out var k) && k.GetString() == kind && r.ContainsKey(key)
                            && r[key].ValueKind == JsonValueKind.Number)
                .Select(r => (Step: r["step"].GetDouble(), Value: r[key].GetDouble()))
                .Where(p => double.IsFinite(p.Value))
                .ToArray();
            if (points.Length == 0) continue;
            var line = plot.Add.Scatter(points.Select(p => p.Step).ToArray(), points.Select(p => p.Value).ToArray());
            line.LegendText = label;
            line.MarkerSize = points.Length > 50 ? 0 : 4;
            any = true;
        }
        if (!any) return;
        plot.Title(title);
        plot.XLabel("step");
        plot.YLabel(yLabel);
        plot.ShowLegend();
        plot.SavePng(pngPath, 800, 450);
    }
}
