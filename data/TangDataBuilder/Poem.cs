using MiniLlmPipeline.Evaluation;

namespace MiniLlmPipeline.TangData;

/// <summary>A cleaned poem: its title, verses, and the regular form it has (null for the rest of the corpus).</summary>
internal sealed record Poem(string Title, IReadOnlyList<Verse> Verses, PoetryForm? Form)
{
    /// <summary>The body, one couplet a line (irregular poems: one sentence, closed by 。？！；, a line).</summary>
    public string Body => Form is null ? PoemLayout.Sentences(Verses) : PoemLayout.Couplets(Verses);

    /// <summary>The pretraining layout: 《title》, a line break, the body.</summary>
    public string PretrainText => $"《{Title}》\n{Body}";
}
