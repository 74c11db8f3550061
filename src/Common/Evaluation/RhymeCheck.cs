using System.Text;

namespace MiniLlmPipeline.Evaluation;

/// <summary>
/// Rhyme of a poem's even verses (2nd, 4th, … up to the form's line count), where regulated verse rhymes: the last Han
/// character of each is looked up in <see cref="RhymeTable"/>, and <paramref name="Group"/> is the track shared by the
/// most of those endings (a polyphonic character counts for each of its tracks; ties go to the ordinally first track).
/// <paramref name="Score"/> = endings in that group / (form lines / 2), so a missing even verse counts as not
/// rhyming; <paramref name="Rhymes"/> when all of them share it. A character absent from the table never rhymes.
/// A rhyme character used again (重韵, which regulated verse avoids) counts once: without this rule a policy trained on
/// the rhyme score learnt to end every even verse with the same character (中), which "rhymes" trivially.
/// The odd first verse, which may rhyme too (首句入韵), is not counted either way.
/// </summary>
public sealed record RhymeCheck(bool Rhymes, double Score, string? Group, IReadOnlyList<string> Endings)
{
    public static RhymeCheck Of(PoetryForm form, IReadOnlyList<Verse> verses, RhymeTable? table = null)
    {
        table ??= RhymeTable.Default;
        var expected = form.Lines / 2;
        var endings = new List<string>();
        for (var i = 1; i < Math.Min(form.Lines, verses.Count); i += 2)
            if (verses[i].Text.EnumerateRunes().LastOrDefault(Verse.IsHan) is { Value: not 0 } last)
                endings.Add(last.ToString());

        var best = endings.Distinct(StringComparer.Ordinal)
            .SelectMany(e => table.GroupsOf(e).Distinct())
            .GroupBy(g => g)
            .OrderByDescending(g => g.Count()).ThenBy(g => g.Key, StringComparer.Ordinal)
            .FirstOrDefault();
        var score = best is null ? 0 : best.Count() / (double)expected;
        return new RhymeCheck(score == 1, score, best?.Key, endings);
    }
}
