using System.Globalization;
using System.Net;
using System.Text;

namespace MiniLlmPipeline.Stages.Explain;

/// <summary>
/// The explain page: one self-contained HTML file (heat-maps as PNG data URIs, charts as inline SVG, no script, no
/// external resource), each section with one column per explained stage so the stages read side by side.
/// The section ids are the page's contract with its tests.
/// </summary>
internal static class ExplainPage
{
    public const string FileName = "index.html";
    public static readonly string[] Sections = ["anatomy", "training", "attention", "next-token", "sampling"];

    private const string Style = """
        body { font-family: "Noto Sans CJK SC", "Noto Sans SC", "PingFang SC", "Microsoft YaHei", sans-serif; margin: 1.5em; color: #222; }
        h1 { margin-bottom: 0.2em; } h2 { border-bottom: 2px solid #ddd; margin-top: 2em; }
        nav a { margin-right: 1em; }
        .stages { display: grid; gap: 1.5em; }
        .stage { min-width: 0; overflow-x: auto; }
        .stage > h3 { background: #eef; padding: 0.2em 0.5em; }
        table { border-collapse: collapse; font-size: 0.9em; margin: 0.5em 0; }
        td, th { border: 1px solid #ccc; padding: 0.2em 0.5em; text-align: left; vertical-align: top; }
        td.n { text-align: right; font-variant-numeric: tabular-nums; }
        .bar { display: inline-block; height: 0.8em; background: #3b528b; vertical-align: middle; }
        .grid { display: grid; gap: 0.5em; }
        .grid figure { margin: 0; } figcaption { font-size: 0.8em; color: #555; }
        svg text { font-family: inherit; }
        figure.mean { max-width: 760px; margin: 0 0 0.8em 0; }
        .answer { white-space: pre-wrap; }
        .note { color: #555; font-size: 0.9em; max-width: 60em; }
        .block { display: flex; flex-direction: column; align-items: center; gap: 0.3em; max-width: 26em; }
        .block div { border: 1px solid #888; border-radius: 4px; padding: 0.3em 0.8em; background: #f7f7ff; text-align: center; width: 90%; }
        .block .add { background: #fff3d6; width: auto; border-radius: 50%; }
        """;

    public static string Render(string pipeline, IReadOnlyList<StageExplanation> stages)
    {
        var html = new StringBuilder();
        html.Append("<!DOCTYPE html>\n<html lang=\"zh-CN\"><head><meta charset=\"utf-8\">");
        html.Append($"<title>explain {E(pipeline)}: {E(string.Join(", ", stages.Select(s => s.Stage)))}</title><style>{Style}</style></head><body>\n");
        html.Append($"<h1>Inside the model: {E(string.Join(" · ", stages.Select(s => s.Stage)))}</h1>");
        html.Append($"<p class=\"note\">Pipeline <b>{E(pipeline)}</b>. Explained prompt: <b>{E(stages[0].Prompt)}</b>. "
            + $"Computed in {string.Join(", ", stages.Select(s => $"{s.Stage} {F(s.Seconds, 1)} s"))}.</p>");
        html.Append("<nav>").Append(string.Concat(Sections.Select(s => $"<a href=\"#{s}\">{s}</a>"))).Append("</nav>\n");
        Section(html, "anatomy", "Model anatomy", stages, Anatomy);
        Section(html, "training", "Training story", stages, Training);
        Section(html, "attention", "Attention heat-maps", stages, Attention);
        Section(html, "next-token", "Next-token view", stages, NextTokens);
        Section(html, "sampling", "Sampling strategies, measured", stages, Sampling);
        html.Append("</body></html>\n");
        return html.ToString();
    }

    private static void Section(StringBuilder html, string id, string title, IReadOnlyList<StageExplanation> stages, Action<StringBuilder, StageExplanation> body)
    {
        html.Append($"<section id=\"{id}\"><h2>{E(title)}</h2>\n<div class=\"stages\" style=\"grid-template-columns: repeat({stages.Count}, minmax(0, 1fr))\">");
        foreach (var stage in stages)
        {
            html.Append($"<div class=\"stage\"><h3>{E(stage.Stage)}</h3>");
            body(html, stage);
            html.Append("</div>");
        }
        html.Append("</div></section>\n");
    }

    private static void Anatomy(StringBuilder html, StageExplanation s)
    {
        var c = s.Config;
        var total = s.ParameterCount;
        // Forward FLOPs per token: 2 per weight (multiply + add) and 4·L·d·T for the scores and the weighted values
        // (PaLM appendix B's training figure is three times this: forward and backward).
        var flops = 2.0 * total + 4.0 * c.NLayers * c.DModel * c.MaxSeqLen;
        html.Append("<table><tr><th>vocabulary</th><td class=\"n\">").Append(c.VocabSize).Append("</td></tr>")
            .Append($"<tr><th>d_model</th><td class=\"n\">{c.DModel}</td></tr><tr><th>layers</th><td class=\"n\">{c.NLayers}</td></tr>")
            .Append($"<tr><th>query heads / kv heads</th><td class=\"n\">{c.NHeads} / {c.NKvHeads} (head dim {c.HeadDim})</td></tr>")
            .Append($"<tr><th>SwiGLU hidden</th><td class=\"n\">{c.FfnHidden}</td></tr><tr><th>context</th><td class=\"n\">{c.MaxSeqLen}</td></tr>")
            .Append($"<tr><th>parameters</th><td class=\"n\">{total:N0}</td></tr>")
            .Append($"<tr><th>forward FLOPs / token (full context)</th><td class=\"n\">{flops:N0}</td></tr></table>");
        html.Append("<h4>Where the parameters live</h4><table><tr><th>part</th><th>parameters</th><th>share</th></tr>");
        foreach (var part in new[] { "embedding", "attention", "MLP", "norm" })
        {
            var n = s.PartParameters(part);
            var share = total == 0 ? 0 : n / (double)total;
            html.Append($"<tr><td>{part}</td><td class=\"n\">{n:N0}</td><td><span class=\"bar\" style=\"width:{F(share * 200, 0)}px\"></span> {F(share * 100, 1)} %</td></tr>");
        }
        html.Append("</table>");
        html.Append("<h4>One block (×").Append(c.NLayers).Append(")</h4><div class=\"block\">")
            .Append($"<div>x (T × {c.DModel}), the residual stream</div><div>RMSNorm</div>")
            .Append($"<div>grouped-query attention: q {c.DModel}→{c.NHeads}×{c.HeadDim}, k, v {c.DModel}→{c.NKvHeads}×{c.HeadDim}, RoPE on q and k, causal softmax(QKᵀ/√{c.HeadDim})V, o {c.NHeads * c.HeadDim}→{c.DModel}</div>")
            .Append("<div class=\"add\">+</div><div>RMSNorm</div>")
            .Append($"<div>SwiGLU MLP: down(silu(gate(x)) · up(x)), {c.DModel}→{c.FfnHidden}→{c.DModel}</div><div class=\"add\">+</div></div>")
            .Append($"<p class=\"note\">Before the blocks: token embedding {c.VocabSize}×{c.DModel}; after them: RMSNorm and the logits through the "
                + (c.TieWordEmbeddings ? "same (tied) embedding" : "untied lm_head") + ".</p>");
        html.Append("<details><summary>Every parameter tensor</summary><table><tr><th>name</th><th>shape</th><th>parameters</th></tr>");
        foreach (var m in s.Modules) html.Append($"<tr><td>{E(m.Name)}</td><td>{string.Join(" × ", m.Shape)}</td><td class=\"n\">{m.Parameters:N0}</td></tr>");
        html.Append("</table></details>");
        if (s.Projection.Count > 0)
        {
            html.Append($"<h4>Token embeddings of the {s.Projection.Count} most frequent characters, first two principal components ({F(s.ProjectionVariance * 100, 1)} % of their variance)</h4>");
            html.Append(Scatter(s.Projection));
        }
    }

    private static void Training(StringBuilder html, StageExplanation s)
    {
        if (s.ReportMetrics is { } metrics)
        {
            html.Append("<h4>Eval report row</h4><table>");
            foreach (var (key, value) in metrics) html.Append($"<tr><th>{E(key)}</th><td class=\"n\">{F(value, 4)}</td></tr>");
            html.Append("</table>");
        }
        else html.Append("<p class=\"note\">No eval report row yet (<code>make eval</code> writes one).</p>");
        if (s.Training.Count == 0) { html.Append("<p class=\"note\">This stage logged no training metrics.</p>"); return; }
        html.Append("<div class=\"grid\" style=\"grid-template-columns: repeat(auto-fill, minmax(320px, 1fr))\">");
        foreach (var series in s.Training)
            html.Append("<figure>").Append(LineChart(series.Steps, series.Values, "step")).Append($"<figcaption>{E(series.Kind)} / {E(series.Key)}</figcaption></figure>");
        html.Append("</div>");
    }

    private static void Attention(StringBuilder html, StageExplanation s)
    {
        var t = s.Tokens.Count;
        var heads = s.Config.NHeads;
        html.Append($"<p class=\"note\">{t} tokens: the prompt and the greedy answer (from token {s.AnswerStart + 1}, after the red line). "
            + "Row = query, column = key it attends to; colour = softmax weight (viridis, square-root scale: dark = 0, yellow = 1). "
            + "Each layer: the mean over heads, then every head; zoom in to read the tokens.</p>");
        for (var layer = 0; layer < s.Attention.Count; layer++)
        {
            var weights = s.Attention[layer];
            var mean = new float[t * t];
            for (var h = 0; h < heads; h++)
                for (var i = 0; i < t * t; i++) mean[i] += weights[h * t * t + i] / heads;
            html.Append($"<h4>layer {layer}</h4><figure class=\"mean\">").Append(Heatmap(mean, s.Tokens, s.AnswerStart))
                .Append($"<figcaption>layer {layer}, mean of {heads} heads</figcaption></figure>");
            html.Append($"<div class=\"grid\" style=\"grid-template-columns: repeat({Math.Min(heads, 4)}, minmax(220px, 1fr))\">");
            for (var h = 0; h < heads; h++)
                html.Append("<figure>").Append(Heatmap(weights.AsSpan(h * t * t, t * t).ToArray(), s.Tokens, s.AnswerStart))
                    .Append($"<figcaption>layer {layer}, head {h}</figcaption></figure>");
            html.Append("</div>");
        }
    }

    private static void NextTokens(StringBuilder html, StageExplanation s)
    {
        if (s.NextTokens.Count == 0) { html.Append("<p class=\"note\">The answer is empty.</p>"); return; }
        html.Append("<h4>Entropy along the answer (nats)</h4>")
            .Append(LineChart(Enumerable.Range(1, s.NextTokens.Count).Select(i => (double)i).ToArray(), s.NextTokens.Select(n => n.Entropy).ToArray(), "answer token"));
        html.Append($"<table><tr><th>#</th><th>produced</th><th>p</th><th>entropy</th><th>top {ExplainOptions.Candidates} candidates</th></tr>");
        for (var i = 0; i < s.NextTokens.Count; i++)
        {
            var n = s.NextTokens[i];
            html.Append($"<tr><td class=\"n\">{i + 1}</td><td>{E(n.Chosen)}</td><td class=\"n\">{F(n.ChosenProbability, 3)}</td><td class=\"n\">{F(n.Entropy, 2)}</td><td>");
            foreach (var (token, p) in n.Top)
                html.Append($"<span title=\"{F(p, 4)}\">{E(token)} <span class=\"bar\" style=\"width:{F(p * 60, 0)}px\"></span> {F(p, 2)}</span>&nbsp; ");
            html.Append("</td></tr>");
        }
        html.Append("</table>");
    }

    private static void Sampling(StringBuilder html, StageExplanation s)
    {
        html.Append($"<p class=\"note\">The same {s.PromptCount} held-out form prompts under each strategy (one seed). Form: compliant with the requested form "
            + "(PoetryFormChecker); rhyme: even verses in one rhyme track; distinct-2: distinct character bigrams / all bigrams; "
            + "repeated: verses that repeat an earlier verse of the same answer; length: characters per answer.</p>");
        html.Append("<table><tr><th>strategy</th><th>settings</th><th>form</th><th>rhyme</th><th>distinct-2</th><th>repeated</th><th>length</th><th>seconds</th></tr>");
        foreach (var r in s.Strategies)
            html.Append($"<tr><td>{E(r.Strategy.Name)}</td><td>{E(r.Strategy.Describe())}</td><td class=\"n\">{F(r.Compliance * 100, 1)} %</td>"
                + $"<td class=\"n\">{F(r.RhymeRate * 100, 1)} %</td><td class=\"n\">{F(r.Distinct2, 3)}</td><td class=\"n\">{F(r.RepeatedVerseRate * 100, 1)} %</td>"
                + $"<td class=\"n\">{F(r.MeanLength, 1)}</td><td class=\"n\">{F(r.Seconds, 2)}</td></tr>");
        html.Append("</table>");
        foreach (var r in s.Strategies)
        {
            html.Append($"<details><summary>{E(r.Strategy.Name)}: example answers</summary><table>");
            foreach (var (prompt, answer, verdict) in r.Answers.Take(3))
                html.Append($"<tr><td>{E(prompt)}</td><td class=\"answer\">{E(answer)}</td><td>{E(verdict)}</td></tr>");
            html.Append("</table></details>");
        }
    }

    /// <summary>An attention map with the tokens as axis labels: keys along the top, queries down the left.</summary>
    private static string Heatmap(float[] weights, IReadOnlyList<string> tokens, int answerStart)
    {
        var t = tokens.Count;
        const double cell = 10, margin = 60;
        var size = margin + t * cell;
        var svg = new StringBuilder($"<svg viewBox=\"0 0 {F(size, 0)} {F(size, 0)}\" width=\"100%\" xmlns=\"http://www.w3.org/2000/svg\">");
        svg.Append($"<image x=\"{F(margin, 0)}\" y=\"{F(margin, 0)}\" width=\"{F(t * cell, 0)}\" height=\"{F(t * cell, 0)}\" preserveAspectRatio=\"none\" "
            + $"style=\"image-rendering: pixelated\" href=\"{HeatmapImage.DataUri(weights, t)}\"/>");
        for (var i = 0; i < t; i++)
        {
            var label = E(Short(tokens[i]));
            var x = margin + i * cell + cell * 0.75;
            svg.Append($"<text x=\"{F(x, 1)}\" y=\"{F(margin - 2, 0)}\" font-size=\"8\" transform=\"rotate(-90 {F(x, 1)} {F(margin - 2, 0)})\">{label}</text>");
            svg.Append($"<text x=\"{F(margin - 2, 0)}\" y=\"{F(margin + i * cell + cell * 0.8, 1)}\" font-size=\"8\" text-anchor=\"end\">{label}</text>");
        }
        var line = margin + answerStart * cell;
        svg.Append($"<line x1=\"{F(margin, 0)}\" y1=\"{F(line, 0)}\" x2=\"{F(size, 0)}\" y2=\"{F(line, 0)}\" stroke=\"red\" stroke-width=\"1\"/>");
        svg.Append($"<line x1=\"{F(line, 0)}\" y1=\"{F(margin, 0)}\" x2=\"{F(line, 0)}\" y2=\"{F(size, 0)}\" stroke=\"red\" stroke-width=\"1\"/>");
        return svg.Append("</svg>").ToString();
    }

    /// <summary>Long labels (special tokens) cut so the axis margin holds them.</summary>
    private static string Short(string token) => token.StartsWith("<|", StringComparison.Ordinal) ? token.Replace("<|", "").Replace("|>", "") is var n && n.Length > 8 ? n[..8] : n : token;

    private static string LineChart(double[] xs, double[] ys, string xLabel)
    {
        const double w = 320, h = 180, left = 45, bottom = 25, top = 8, right = 8;
        var (x0, x1) = (xs.Min(), xs.Max());
        var (y0, y1) = (ys.Min(), ys.Max());
        if (x1 == x0) x1 = x0 + 1;
        if (y1 == y0) y1 = y0 + 1;
        double X(double x) => left + (x - x0) / (x1 - x0) * (w - left - right);
        double Y(double y) => h - bottom - (y - y0) / (y1 - y0) * (h - bottom - top);
        var points = string.Join(" ", xs.Zip(ys, (x, y) => $"{F(X(x), 1)},{F(Y(y), 1)}"));
        return $"<svg viewBox=\"0 0 {w} {h}\" width=\"{w}\" xmlns=\"http://www.w3.org/2000/svg\">"
            + $"<rect x=\"{left}\" y=\"{top}\" width=\"{w - left - right}\" height=\"{h - top - bottom}\" fill=\"none\" stroke=\"#ccc\"/>"
            + $"<polyline fill=\"none\" stroke=\"#3b528b\" stroke-width=\"1.5\" points=\"{points}\"/>"
            + (xs.Length <= 60 ? string.Concat(xs.Zip(ys, (x, y) => $"<circle cx=\"{F(X(x), 1)}\" cy=\"{F(Y(y), 1)}\" r=\"2\" fill=\"#3b528b\"/>")) : "")
            + $"<text x=\"{left - 3}\" y=\"{top + 8}\" font-size=\"9\" text-anchor=\"end\">{G(y1)}</text>"
            + $"<text x=\"{left - 3}\" y=\"{h - bottom}\" font-size=\"9\" text-anchor=\"end\">{G(y0)}</text>"
            + $"<text x=\"{left}\" y=\"{h - bottom + 12}\" font-size=\"9\">{G(x0)}</text>"
            + $"<text x=\"{w - right}\" y=\"{h - bottom + 12}\" font-size=\"9\" text-anchor=\"end\">{G(x1)}</text>"
            + $"<text x=\"{(left + w) / 2}\" y=\"{h - 3}\" font-size=\"9\" text-anchor=\"middle\">{E(xLabel)}</text></svg>";
    }

    private static string Scatter(IReadOnlyList<(string Character, double X, double Y)> points)
    {
        const double size = 420, pad = 20;
        var (x0, x1) = (points.Min(p => p.X), points.Max(p => p.X));
        var (y0, y1) = (points.Min(p => p.Y), points.Max(p => p.Y));
        double X(double x) => pad + (x - x0) / Math.Max(1e-9, x1 - x0) * (size - 2 * pad);
        double Y(double y) => size - pad - (y - y0) / Math.Max(1e-9, y1 - y0) * (size - 2 * pad);
        return $"<svg viewBox=\"0 0 {size} {size}\" width=\"{size}\" xmlns=\"http://www.w3.org/2000/svg\"><rect width=\"{size}\" height=\"{size}\" fill=\"#fafafa\"/>"
            + string.Concat(points.Select(p => $"<text x=\"{F(X(p.X), 1)}\" y=\"{F(Y(p.Y), 1)}\" font-size=\"14\" text-anchor=\"middle\">{E(p.Character)}</text>"))
            + "</svg>";
    }

    private static string E(string text) => WebUtility.HtmlEncode(text);
    private static string F(double x, int digits) => x.ToString("F" + digits, CultureInfo.InvariantCulture);
    private static string G(double x) => x.ToString("G3", CultureInfo.InvariantCulture);
}
