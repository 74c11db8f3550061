using System.Text;

namespace MiniLlmPipeline.Evaluation;

/// <summary>
/// The verifiable metric of the Tang-poetry pipeline: does a text have the shape of the requested regular form?
/// A text is split into verses at full-width punctuation (，。？！；、：) and at whitespace, so both the
/// couplet-per-line layout and one verse per line are read the same way; ASCII , . ? ! ; : count as their
/// full-width forms and quotation marks are ignored.
/// <para>
/// Compliant means exactly the form's number of verses ("lines": 4 or 8), each exactly 5 or 7 Han characters,
/// punctuated as couplets: the first verse of a couplet ends with ，— or ？/！, since a question or exclamation
/// may open a couplet (借问酒家何处有？牧童遥指杏花村。) — and the second with 。？ or ！; ；may close a couplet
/// other than the last, as the corpus does. Tone patterns are not checked.
/// </para>
/// <para>
/// Rhyme is reported beside the verdict and changes neither Compliant nor Score: <see cref="FormCheck.Rhymes"/> and
/// <see cref="FormCheck.RhymeScore"/> come from <see cref="RhymeCheck"/> (the last character of each even verse, up to
/// the form's line count, in the modern 十三辙 tracks of <see cref="RhymeTable"/>), for any text, compliant or not.
/// </para>
/// <para>
/// Score = mean of three parts, so partial answers get partial credit and Score is 1 exactly when compliant:
/// line count max(0, 1 − |n − N| / N); mean over the N expected verses of max(0, 1 − (|han − L| + other) / L)
/// (0 for a missing verse); the fraction of the N expected verses closed by the right mark.
/// </para>
/// </summary>
public static class PoetryFormChecker
{
    private const string Marks = "，。？！；、：";
    private const string Ignored = "“”‘’「」『』\"'";
    private const int MaxReasons = 3;

    /// <summary>Checks <paramref name="text"/> against the form named by <paramref name="form"/> (五绝, 七言律诗, ...); an unknown name is an <see cref="ArgumentException"/>.</summary>
    public static FormCheck Check(string form, string text) => Check(PoetryForm.Parse(form), text);

    public static FormCheck Check(PoetryForm form, string text)
    {
        var verses = Split(text);
        if (verses.Count == 0) return new FormCheck(false, 0, "no text");

        var problems = new List<string>();
        if (verses.Count != form.Lines) problems.Add($"expected {form.Lines} lines, found {verses.Count}");
        var countScore = Math.Max(0, 1 - Math.Abs(verses.Count - form.Lines) / (double)form.Lines);

        double lengthSum = 0, punctuationSum = 0;
        for (var i = 0; i < Math.Min(form.Lines, verses.Count); i++)
        {
            var (han, other) = (verses[i].HanCount, verses[i].OtherCount);
            lengthSum += Math.Max(0, 1 - (Math.Abs(han - form.CharsPerLine) + other) / (double)form.CharsPerLine);
            if (other > 0) problems.Add($"line {i + 1} has {other} non-Han character(s)");
            if (han != form.CharsPerLine) problems.Add($"line {i + 1} has {han} characters, expected {form.CharsPerLine}");

            var allowed = AllowedMarks(i, form.Lines);
            if (verses[i].Mark is { } mark && allowed.Contains(mark)) punctuationSum++;
            else problems.Add($"line {i + 1} ends with {(verses[i].Mark is { } m ? $"'{m}'" : "no mark")}, expected one of {allowed}");
        }

        var score = (countScore + lengthSum / form.Lines + punctuationSum / form.Lines) / 3;
        var rhyme = RhymeCheck.Of(form, verses);
        if (problems.Count == 0) return new FormCheck(true, 1.0, "ok", rhyme.Rhymes, rhyme.Score);
        var reason = string.Join("; ", problems.Take(MaxReasons))
                     + (problems.Count > MaxReasons ? $"; and {problems.Count - MaxReasons} more" : "");
        return new FormCheck(false, score, reason, rhyme.Rhymes, rhyme.Score);
    }

    /// <summary>The verses of <paramref name="text"/> in order (see the class remarks for how it is split).</summary>
    public static IReadOnlyList<Verse> Split(string text)
    {
        var verses = new List<Verse>();
        var current = new StringBuilder();
        void Close(char? mark)
        {
            // A mark or break with no characters before it (",,", a blank line) closes nothing.
            if (current.Length > 0) verses.Add(new Verse(current.ToString(), mark));
            current.Clear();
        }

        foreach (var rune in text.EnumerateRunes())
        {
            if (Rune.IsWhiteSpace(rune)) { Close(null); continue; }
            var c = rune.IsBmp ? FullWidth((char)rune.Value) : '\0';
            if (c != '\0' && Ignored.Contains(c)) continue;
            if (c != '\0' && Marks.Contains(c)) { Close(c); continue; }
            current.Append(rune.ToString());
        }
        Close(null);
        return verses;
    }

    private static string AllowedMarks(int index, int lines) =>
        index % 2 == 0 ? "，？！" : index == lines - 1 ? "。？！" : "。？！；";

    private static char FullWidth(char c) => c switch
    {
        ',' => '，', '.' => '。', '?' => '？', '!' => '！', ';' => '；', ':' => '：',
        _ => c,
    };
}
