using System.Text;
using MiniLlmPipeline.Evaluation;

namespace MiniLlmPipeline.Stages.Explain;

/// <summary>Measures of a set of answers that need no reference: how varied and how repetitive they are.</summary>
internal static class AnswerStatistics
{
    /// <summary>
    /// Distinct-2 (Li et al. 2016, §4.2): distinct character bigrams over all bigrams of the answers, whitespace left
    /// out. Chinese is written without spaces, so characters stand in for the paper's words.
    /// </summary>
    public static double Distinct2(IEnumerable<string> answers)
    {
        var total = 0;
        var distinct = new HashSet<(int, int)>();
        foreach (var answer in answers)
        {
            var runes = answer.EnumerateRunes().Where(r => !Rune.IsWhiteSpace(r)).Select(r => r.Value).ToArray();
            for (var i = 0; i + 1 < runes.Length; i++)
            {
                distinct.Add((runes[i], runes[i + 1]));
                total++;
            }
        }
        return total == 0 ? 0 : distinct.Count / (double)total;
    }

    /// <summary>The fraction of verses (<see cref="PoetryFormChecker.Split"/>) that repeat an earlier verse of the same answer.</summary>
    public static double RepeatedVerseRate(IEnumerable<string> answers)
    {
        var (verses, repeated) = (0, 0);
        foreach (var answer in answers)
        {
            var seen = new HashSet<string>(StringComparer.Ordinal);
            foreach (var verse in PoetryFormChecker.Split(answer))
            {
                verses++;
                if (!seen.Add(verse.Text)) repeated++;
            }
        }
        return verses == 0 ? 0 : repeated / (double)verses;
    }

    /// <summary>Mean length in characters, whitespace left out.</summary>
    public static double MeanLength(IReadOnlyCollection<string> answers) =>
        answers.Count == 0 ? 0 : answers.Average(a => a.EnumerateRunes().Count(r => !Rune.IsWhiteSpace(r)));
}
