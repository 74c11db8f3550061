namespace MiniLlmPipeline.Evaluation;

/// <summary>
/// The rhyme rate real poems reach under <see cref="RhymeTable"/>: what a model's rhyme_rate can be compared with,
/// since the modern 十三辙 approximation marks some genuine Tang rhymes as broken.
/// </summary>
public static class RhymeCeiling
{
    /// <summary>
    /// Over the texts that are a regular form (<see cref="PoetryForm.Classify"/>), the fraction whose check
    /// <see cref="FormCheck.Rhymes"/>. A text may start with a 《title》 line (the pretraining layout), which is dropped;
    /// other poems are skipped. (0, 0) when none is regular.
    /// </summary>
    public static (int Poems, double RhymeRate) Of(IEnumerable<string> poemTexts) => Rate(Checks(poemTexts).ToList());

    /// <summary>The same, per form (only forms with at least one poem appear), in <see cref="PoetryForm.All"/> order.</summary>
    public static IReadOnlyList<(PoetryForm Form, int Poems, double RhymeRate)> ByForm(IEnumerable<string> poemTexts)
    {
        var checks = Checks(poemTexts).ToList();
        return PoetryForm.All
            .Select(f => (Form: f, Checks: checks.Where(c => c.Form == f).ToList()))
            .Where(g => g.Checks.Count > 0)
            .Select(g => { var (n, rate) = Rate(g.Checks); return (g.Form, n, rate); })
            .ToList();
    }

    /// <summary>The text without a leading 《title》 line.</summary>
    public static string Body(string text)
    {
        var trimmed = text.TrimStart();
        if (!trimmed.StartsWith('《')) return text;
        var newline = trimmed.IndexOf('\n');
        return newline < 0 ? "" : trimmed[(newline + 1)..];
    }

    /// <summary>
    /// The texts that are a regular form, each as its form and its body (a leading 《title》 line dropped); other texts
    /// are skipped. The real poems every reference rate of the report is taken over.
    /// </summary>
    public static IEnumerable<(PoetryForm Form, string Body)> RegularPoems(IEnumerable<string> poemTexts)
    {
        foreach (var text in poemTexts)
        {
            var body = Body(text);
            if (PoetryForm.Classify(body) is { } form) yield return (form, body);
        }
    }

    private static IEnumerable<(PoetryForm Form, bool Rhymes)> Checks(IEnumerable<string> poemTexts) =>
        RegularPoems(poemTexts).Select(p => (p.Form, PoetryFormChecker.Check(p.Form, p.Body).Rhymes));

    private static (int Poems, double RhymeRate) Rate(IReadOnlyList<(PoetryForm Form, bool Rhymes)> checks) =>
        (checks.Count, checks.Count == 0 ? 0 : checks.Count(c => c.Rhymes) / (double)checks.Count);
}
