using System.Text.RegularExpressions;

namespace MiniLlmPipeline.Evaluation;

/// <summary>
/// One of the four regular Tang forms: a quatrain (绝句, 4 lines) or regulated verse (律诗, 8 lines)
/// of 5 or 7 characters a line. Named by the short (五绝) or the long name (五言绝句).
/// </summary>
public sealed partial record PoetryForm(string ShortName, string LongName, int Lines, int CharsPerLine)
{
    public static PoetryForm FiveCharQuatrain { get; } = new("五绝", "五言绝句", 4, 5);
    public static PoetryForm FiveCharRegulated { get; } = new("五律", "五言律诗", 8, 5);
    public static PoetryForm SevenCharQuatrain { get; } = new("七绝", "七言绝句", 4, 7);
    public static PoetryForm SevenCharRegulated { get; } = new("七律", "七言律诗", 8, 7);

    public static IReadOnlyList<PoetryForm> All { get; } =
        [FiveCharQuatrain, FiveCharRegulated, SevenCharQuatrain, SevenCharRegulated];

    /// <summary>The form named exactly by <paramref name="name"/> (short or long name, surrounding whitespace ignored).</summary>
    public static PoetryForm Parse(string name) =>
        TryParse(name, out var form)
            ? form
            : throw new ArgumentException(
                $"unknown poetry form '{name}'; expected one of {string.Join(", ", All.SelectMany(f => new[] { f.ShortName, f.LongName }))}",
                nameof(name));

    public static bool TryParse(string? name, out PoetryForm form)
    {
        var trimmed = name?.Trim();
        form = All.FirstOrDefault(f => f.ShortName == trimmed || f.LongName == trimmed)!;
        return form is not null;
    }

    /// <summary>
    /// The form a prompt asks for, e.g. 以《春望》为题写一首五言律诗 → 五律; null when it names none or several.
    /// Titles in 《》 are skipped (《府酒五绝 自劝》 names no form of the answer) and long names win over short ones.
    /// </summary>
    public static PoetryForm? FindIn(string prompt)
    {
        var outsideTitles = Title().Replace(prompt, "");
        foreach (var name in new Func<PoetryForm, string>[] { f => f.LongName, f => f.ShortName })
        {
            var named = All.Where(f => outsideTitles.Contains(name(f), StringComparison.Ordinal)).ToList();
            if (named.Count > 0) return named.Count == 1 ? named[0] : null;
        }
        return null;
    }

    /// <summary>
    /// The regular form a poem body has exactly (<see cref="PoetryFormChecker"/> compliant), null for any other poem:
    /// how the data builder sorts 全唐诗 and how <see cref="RhymeCeiling"/> picks the real poems to measure.
    /// </summary>
    public static PoetryForm? Classify(string body) => All.FirstOrDefault(f => PoetryFormChecker.Check(f, body).Compliant);

    [GeneratedRegex("《[^》]*》")]
    private static partial Regex Title();

    public override string ToString() => ShortName;
}
