using System.Text;
using System.Text.RegularExpressions;
using MiniLlmPipeline.Evaluation;

namespace MiniLlmPipeline.TangData;

/// <summary>
/// Turns a 全唐诗 entry into a <see cref="Poem"/> or rejects it. Editorial notes in （） (variant readings such as
/// （一作「叉」）) and quotation marks are removed; a poem keeps only if what is left is Han characters and verse
/// punctuation, ends a sentence, and has no lacuna (□, 囗) — a model should not learn the editors' apparatus.
/// </summary>
internal static partial class PoemCleaner
{
    private const string VerseMarks = "，。？！；、：";
    private const string TitlePunctuation = " ·、，：〈〉";

    /// <summary>Cleans every entry and drops repeated bodies (the same poem filed under two poets), keeping the first.</summary>
    public static IReadOnlyList<Poem> CleanAll(IReadOnlyList<SourcePoem> sources, IDictionary<string, int> rejections)
    {
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var poems = new List<Poem>();
        foreach (var source in sources)
        {
            var poem = TryClean(source, out var why);
            if (poem is not null && !seen.Add(string.Concat(poem.Verses))) why = "duplicate body";
            else if (poem is not null) poems.Add(poem);
            if (why is not null) rejections[why] = rejections.TryGetValue(why, out var n) ? n + 1 : 1;
        }
        return poems;
    }

    public static Poem? TryClean(SourcePoem source, out string? rejection)
    {
        rejection = null;
        var body = Annotation().Replace(string.Concat(source.Paragraphs), "");
        body = Quotes().Replace(body, "");
        body = Whitespace().Replace(body, "");
        if (body.Length == 0) return Reject("empty body", out rejection);
        if (body.Contains('囗') || !body.EnumerateRunes().All(r => Verse.IsHan(r) || (r.IsBmp && VerseMarks.Contains((char)r.Value))))
            return Reject("lacuna or non-verse characters", out rejection);
        if (body[^1] is not ('。' or '？' or '！')) return Reject("unfinished text", out rejection);

        var title = Whitespace().Replace(Annotation().Replace(source.Title, ""), " ").Trim()
            .Replace('《', '〈').Replace('》', '〉');
        if (title.Length == 0 || title.Contains('囗')
            || !title.EnumerateRunes().All(r => Verse.IsHan(r) || (r.IsBmp && TitlePunctuation.Contains((char)r.Value))))
            return Reject("title with lacuna or odd characters", out rejection);

        var verses = PoetryFormChecker.Split(body);
        var form = PoetryForm.Classify(body);
        return new Poem(title, verses, form);
    }

    private static Poem? Reject(string why, out string? rejection)
    {
        rejection = why;
        return null;
    }

    [GeneratedRegex(@"[（(][^（）()]*[）)]")]
    private static partial Regex Annotation();

    [GeneratedRegex("[「」『』“”‘’]")]
    private static partial Regex Quotes();

    [GeneratedRegex(@"\s+")]
    private static partial Regex Whitespace();
}
