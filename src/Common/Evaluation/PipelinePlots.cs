using MiniLlmPipeline.Training;

namespace MiniLlmPipeline.Evaluation;

/// <summary>
/// The report's figures, drawn with ScottPlot from each stage's metrics.jsonl and the report rows:
/// training loss of every stage in one figure, PPO reward and KL over training, form compliance by stage.
/// A figure with nothing to show (e.g. PPO never ran) is not written.
/// </summary>
public static class PipelinePlots
{
    public const string LossFile = "loss_curves.png";
    public const string PpoFile = "ppo_reward_kl.png";
    public const string ComplianceFile = "form_compliance.png";
    public const string ComplianceKlFile = "compliance_vs_kl.png";

    /// <summary>The metrics.jsonl kind and keys the PPO stage logs once per iteration.</summary>
    public const string PpoKind = "ppo";
    public const string PpoRewardKey = "reward_mean";
    public const string PpoKlKey = "kl";

    private const int Width = 800;
    private const int Height = 450;

    /// <summary>Writes every figure that has data into <paramref name="pipelineDir"/>; returns those written.</summary>
    public static IReadOnlyList<ReportPlot> Save(string pipelineDir, PipelineReport report)
    {
        var written = new List<ReportPlot>();
        if (SaveLossCurves(pipelineDir, report)) written.Add(new ReportPlot(LossFile, "Training loss of every stage"));
        if (SavePpo(pipelineDir, report)) written.Add(new ReportPlot(PpoFile, "PPO reward and KL over training"));
        if (SaveCompliance(pipelineDir, report)) written.Add(new ReportPlot(ComplianceFile, "Form compliance by stage"));
        if (SaveComplianceAgainstKl(pipelineDir, report))
            written.Add(new ReportPlot(ComplianceKlFile, "Form compliance against KL to the SFT model, per stage"));
        return written;
    }

    private static bool SaveLossCurves(string pipelineDir, PipelineReport report)
    {
        var plot = new ScottPlot.Plot();
        var any = false;
        foreach (var row in report.Stages.Where(r => r.Ran))
        {
            var (steps, values) = MetricsPlot.Points(ReadMetrics(pipelineDir, row.Stage), "train", "loss");
            if (steps.Length == 0) continue;
            // Stages run for very different step counts; on a shared step axis the short ones would be squeezed into a corner.
            var last = steps[^1];
            MetricsPlot.AddLine(plot, steps.Select(s => s / last).ToArray(), values, $"{row.Stage} ({last:F0} steps)");
            any = true;
        }
        if (!any) return false;
        plot.Title("Training loss by stage");
        plot.XLabel("fraction of the stage's training steps");
        plot.YLabel("loss");
        plot.ShowLegend(ScottPlot.Alignment.UpperRight);   // losses fall, so the upper right stays clear
        plot.SavePng(Path.Combine(pipelineDir, LossFile), Width, Height);
        return true;
    }

    private static bool SavePpo(string pipelineDir, PipelineReport report)
    {
        // The stage that logged PPO iterations (the report knows stages by their rows, not by name).
        var records = report.Stages.Where(r => r.Ran).Select(r => ReadMetrics(pipelineDir, r.Stage))
            .FirstOrDefault(m => m.Any(record => record.TryGetValue("kind", out var kind) && kind.GetString() == PpoKind)) ?? [];
        var (rewardSteps, rewards) = MetricsPlot.Points(records, PpoKind, PpoRewardKey);
        var (klSteps, kls) = MetricsPlot.Points(records, PpoKind, PpoKlKey);
        if (rewardSteps.Length == 0 && klSteps.Length == 0) return false;
        var plot = new ScottPlot.Plot();
        if (rewardSteps.Length > 0) MetricsPlot.AddLine(plot, rewardSteps, rewards, "mean reward (left)");
        if (klSteps.Length > 0)
        {
            // KL is on another scale than the reward, so it gets the right-hand axis.
            var kl = MetricsPlot.AddLine(plot, klSteps, kls, "KL to reference (right)");
            kl.Axes.YAxis = plot.Axes.Right;
            plot.Axes.Right.Label.Text = "KL";
        }
        plot.Title("PPO");
        plot.XLabel("optimizer step (one point per logged PPO iteration)");
        plot.YLabel("reward");
        plot.ShowLegend();
        plot.SavePng(Path.Combine(pipelineDir, PpoFile), Width, Height);
        return true;
    }

    private static bool SaveCompliance(string pipelineDir, PipelineReport report)
    {
        var rows = report.Stages.Where(r => r.Metrics.ContainsKey(EvalMetrics.FormCompliance)).ToList();
        if (rows.Count == 0) return false;
        var plot = new ScottPlot.Plot();
        var palette = new ScottPlot.Palettes.Category10();
        var series = new (string Key, string Label)[] { (EvalMetrics.FormCompliance, "compliance rate"), (EvalMetrics.FormScore, "mean form score") };
        for (var s = 0; s < series.Length; s++)
        {
            var bars = rows.Select((row, i) => new ScottPlot.Bar
            {
                Position = i + (s - 0.5) * 0.4,
                Value = row.Metrics.TryGetValue(series[s].Key, out var v) && double.IsFinite(v) ? v : 0,
                Size = 0.4,
                FillColor = palette.GetColor(s),
            }).ToList();
            var barPlot = plot.Add.Bars(bars);
            barPlot.LegendText = series[s].Label;
        }
        plot.Axes.Bottom.SetTicks(rows.Select((_, i) => (double)i).ToArray(), rows.Select(r => r.Stage).ToArray());
        plot.Axes.SetLimitsY(0, 1.3);   // headroom above 1 for the legend
        plot.Title("Form compliance by stage (held-out prompts)");
        plot.YLabel("fraction");
        plot.ShowLegend(ScottPlot.Alignment.UpperLeft);
        plot.SavePng(Path.Combine(pipelineDir, ComplianceFile), Width, Height);
        return true;
    }

    /// <summary>What each stage bought with how far it moved: one labelled point per stage that has both numbers.</summary>
    private static bool SaveComplianceAgainstKl(string pipelineDir, PipelineReport report)
    {
        var rows = report.Stages.Where(r => r.Metrics.ContainsKey(EvalMetrics.FormCompliance) && r.Metrics.ContainsKey(EvalMetrics.KlToSft)).ToList();
        if (rows.Count < 2) return false;
        var plot = new ScottPlot.Plot();
        var palette = new ScottPlot.Palettes.Category10();
        for (var i = 0; i < rows.Count; i++)
        {
            var (x, y) = (rows[i].Metrics[EvalMetrics.KlToSft], rows[i].Metrics[EvalMetrics.FormCompliance]);
            var marker = plot.Add.Marker(x, y, ScottPlot.MarkerShape.FilledCircle, 10, palette.GetColor(i));
            marker.LegendText = rows[i].Stage;
            var label = plot.Add.Text($" {rows[i].Stage}", x, y);
            label.LabelFontSize = 13;
        }
        plot.Axes.SetLimitsY(0, 1.05);
        plot.Title("Form compliance against KL to the SFT model");
        plot.XLabel("KL(stage ‖ SFT) per answer token (nats)");
        plot.YLabel("form compliance (held-out prompts)");
        plot.ShowLegend(ScottPlot.Alignment.LowerRight);
        plot.SavePng(Path.Combine(pipelineDir, ComplianceKlFile), Width, Height);
        return true;
    }

    private static IReadOnlyList<Dictionary<string, System.Text.Json.JsonElement>> ReadMetrics(string pipelineDir, string stage) =>
        MetricsLog.Read(Path.Combine(pipelineDir, stage, MetricsLog.FileName));
}
