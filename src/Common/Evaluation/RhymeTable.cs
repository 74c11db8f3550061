using System.Text;

namespace MiniLlmPipeline.Evaluation;

/// <summary>
/// Character → modern rhyme tracks (十三辙), read from data/tang/rhymes.tsv, which <c>make data</c> builds from the
/// finals of all pinyin-pro readings of each character and which is embedded in this assembly, so the checker needs
/// no file at run time. A polyphonic character has every track of its readings (行: 中东, 江阳). This is modern
/// Mandarin, not the Middle-Chinese 平水韵 the Tang poets rhymed by (see data/README.md).
/// </summary>
public sealed class RhymeTable
{
    /// <summary>The manifest resource name of the embedded table (LogicalName in Common.csproj).</summary>
    public const string ResourceName = "MiniLlmPipeline.Evaluation.rhymes.tsv";

    private static readonly Lazy<RhymeTable> Embedded = new(LoadEmbedded);
    private readonly Dictionary<int, string[]> _groups;

    private RhymeTable(Dictionary<int, string[]> groups) => _groups = groups;

    /// <summary>The table embedded from data/tang/rhymes.tsv, parsed on first use.</summary>
    public static RhymeTable Default => Embedded.Value;

    /// <summary>Characters in the table.</summary>
    public int Count => _groups.Count;

    /// <summary>The rhyme tracks of one Han character (a string of one code point); empty when the table lacks it or the string is not one character.</summary>
    public IReadOnlyList<string> GroupsOf(string hanCharacter)
    {
        var runes = hanCharacter.EnumerateRunes();
        if (!runes.MoveNext()) return [];
        var first = runes.Current;
        return runes.MoveNext() ? [] : GroupsOf(first);
    }

    public IReadOnlyList<string> GroupsOf(Rune character) => _groups.TryGetValue(character.Value, out var g) ? g : [];

    /// <summary>
    /// Parses the TSV layout (# comment lines; character TAB finals TAB groups); a malformed line is an
    /// <see cref="InvalidDataException"/> naming <paramref name="source"/> and the line number.
    /// </summary>
    public static RhymeTable Parse(TextReader reader, string source)
    {
        var groups = new Dictionary<int, string[]>();
        var number = 0;
        while (reader.ReadLine() is { } line)
        {
            number++;
            if (line.Length == 0 || line[0] == '#') continue;
            var fields = line.Split('\t');
            var runes = fields[0].EnumerateRunes().ToList();
            if (fields.Length != 3 || runes.Count != 1 || fields[2].Length == 0)
                throw new InvalidDataException($"{source} line {number}: expected 'character TAB finals TAB groups', found '{line}'");
            if (!groups.TryAdd(runes[0].Value, fields[2].Split(',')))
                throw new InvalidDataException($"{source} line {number}: '{fields[0]}' is listed twice");
        }
        return new RhymeTable(groups);
    }

    private static RhymeTable LoadEmbedded()
    {
        using var stream = typeof(RhymeTable).Assembly.GetManifestResourceStream(ResourceName)
                           ?? throw new InvalidOperationException($"resource {ResourceName} is missing from {typeof(RhymeTable).Assembly.GetName().Name}");
        using var reader = new StreamReader(stream, Encoding.UTF8);
        return Parse(reader, $"embedded {ResourceName}");
    }
}
