using System.Text;
using MiniLlmPipeline.Evaluation;

namespace MiniLlmPipeline.TangData;

/// <summary>How verses become lines of text in every shipped file.</summary>
internal static class PoemLayout
{
    /// <summary>Two verses a line: 床前明月光，疑是地上霜。 (an odd verse count leaves the last one alone).</summary>
    public static string Couplets(IReadOnlyList<Verse> verses) =>
        string.Join("\n", verses.Chunk(2).Select(pair => string.Concat(pair.Select(v => v.ToString()))));

    /// <summary>A line break after each closing mark (。？！；): couplets for most poems, longer sentences in old-style verse.</summary>
    public static string Sentences(IReadOnlyList<Verse> verses)
    {
        var text = new StringBuilder();
        foreach (var verse in verses)
        {
            text.Append(verse);
            if (verse.Mark is '。' or '？' or '！' or '；') text.Append('\n');
        }
        return text.ToString().TrimEnd('\n');
    }
}
