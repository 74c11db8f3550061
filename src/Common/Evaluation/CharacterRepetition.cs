using System.Text;

namespace MiniLlmPipeline.Evaluation;

/// <summary>
/// How much of a text repeats itself: the share of its Han characters that repeat one seen before, 1 − distinct / total.
/// It is the complement of distinct-1 (Li et al. 2016, "A Diversity-Promoting Objective Function for Neural Conversation
/// Models") over characters, computed within one answer rather than pooled over all of them.
/// 一是春中一是春 has 7 characters and 4 distinct ones: 3/7.
/// <para>
/// The form checker counts shape, not content, so a verse of one character repeated is compliant; an alignment stage
/// that optimises compliance alone finds that (16 rounds of on-policy DPO did: 一是春中一是春，一春春一是春春。…).
/// This is the number that shows it and the reward term (<c>reward.repetition</c>) that prices it. Real quatrains
/// repeat a few characters of 20 or 28 (the eval report gives the held-out poems' mean as the reference).
/// </para>
/// </summary>
public static class CharacterRepetition
{
    /// <summary>1 − distinct/total over the Han characters of <paramref name="text"/>; 0 for a text with none.</summary>
    public static double RepeatedShare(string text)
    {
        var total = 0;
        var distinct = new HashSet<int>();
        foreach (var rune in text.EnumerateRunes())
        {
            if (!Verse.IsHan(rune)) continue;
            total++;
            distinct.Add(rune.Value);
        }
        return total == 0 ? 0 : 1 - distinct.Count / (double)total;
    }

    /// <summary>
    /// The reference a model's rate is read against: the mean <see cref="RepeatedShare"/> of the same real poems the rhyme
    /// ceiling is taken over (<see cref="RhymeCeiling.RegularPoems"/>); (0, 0) when none is a regular form.
    /// </summary>
    public static (int Poems, double RepeatedShare) OfRealPoems(IEnumerable<string> poemTexts)
    {
        var bodies = RhymeCeiling.RegularPoems(poemTexts).Select(p => p.Body).ToList();
        return (bodies.Count, Mean(bodies));
    }

    /// <summary>The mean <see cref="RepeatedShare"/> of <paramref name="texts"/>; 0 for none.</summary>
    public static double Mean(IEnumerable<string> texts)
    {
        var shares = texts.Select(RepeatedShare).ToList();
        return shares.Count == 0 ? 0 : shares.Average();
    }
}
