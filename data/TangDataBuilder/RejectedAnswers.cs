namespace MiniLlmPipeline.TangData;

/// <summary>Makes the plausible-but-wrong answer of a preference pair from the real poem.</summary>
internal static class RejectedAnswers
{
    /// <summary>
    /// The rejected body for <paramref name="chosen"/>; when a kind cannot change this poem (all verses equal),
    /// falls back to <see cref="RejectedKind.WrongForm"/>, which always differs. Returns the kind actually made.
    /// </summary>
    public static (string Body, RejectedKind Kind) Make(RejectedKind kind, Poem chosen, IReadOnlyList<Poem> pool, Random random)
    {
        var body = kind switch
        {
            RejectedKind.WrongForm => WrongForm(chosen, pool, random),
            RejectedKind.BrokenLength => BrokenLength(chosen, random),
            RejectedKind.ShuffledLines => Shuffled(chosen, random),
            RejectedKind.RepeatedLines => Repeated(chosen, random),
            RejectedKind.Truncated => PoemLayout.Couplets(chosen.Verses.Take(random.Next(2, chosen.Verses.Count)).ToList()),
            _ => throw new ArgumentOutOfRangeException(nameof(kind)),
        };
        return body == chosen.Body ? (WrongForm(chosen, pool, random), RejectedKind.WrongForm) : (body, kind);
    }

    private static string WrongForm(Poem chosen, IReadOnlyList<Poem> pool, Random random)
    {
        while (true)
        {
            var other = pool[random.Next(pool.Count)];
            if (other.Form != chosen.Form) return other.Body;
        }
    }

    private static string BrokenLength(Poem chosen, Random random)
    {
        var verses = chosen.Verses.ToArray();
        var targets = Enumerable.Range(0, verses.Length).OrderBy(_ => random.Next()).Take(random.Next(1, 3));
        foreach (var i in targets)
        {
            var runes = verses[i].Text.EnumerateRunes().ToList();
            if (random.Next(2) == 0) runes.RemoveAt(random.Next(runes.Count));
            else runes.Insert(random.Next(runes.Count + 1), runes[random.Next(runes.Count)]);
            verses[i] = verses[i] with { Text = string.Concat(runes.Select(r => r.ToString())) };
        }
        return PoemLayout.Couplets(verses);
    }

    /// <summary>Verse texts are permuted; marks stay where they were so the couplet punctuation is still right.</summary>
    private static string Shuffled(Poem chosen, Random random)
    {
        var texts = chosen.Verses.Select(v => v.Text).ToArray();
        for (var attempt = 0; attempt < 8 && texts.SequenceEqual(chosen.Verses.Select(v => v.Text)); attempt++)
            random.Shuffle(texts);
        return PoemLayout.Couplets(chosen.Verses.Select((v, i) => v with { Text = texts[i] }).ToList());
    }

    private static string Repeated(Poem chosen, Random random)
    {
        var verses = chosen.Verses.ToArray();
        var couplets = verses.Length / 2;
        var target = random.Next(couplets);
        var source = (target + random.Next(1, couplets)) % couplets;
        verses[2 * target] = verses[2 * target] with { Text = verses[2 * source].Text };
        verses[2 * target + 1] = verses[2 * target + 1] with { Text = verses[2 * source + 1].Text };
        return PoemLayout.Couplets(verses);
    }
}
