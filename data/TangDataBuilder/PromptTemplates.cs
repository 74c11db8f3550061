using MiniLlmPipeline.Evaluation;

namespace MiniLlmPipeline.TangData;

/// <summary>The instruction wording of every SFT, preference, held-out and RL prompt (simplified characters).</summary>
internal static class PromptTemplates
{
    /// <summary>Longer titles (e.g. 奉和圣制同二相已下群官乐游园宴) make awkward instructions; such poems get a continuation task.</summary>
    public const int MaxTitleLength = 16;

    public static string TitleFirst(Poem poem) => TitleFirst(poem.Title, poem.Form!);

    public static string FormFirst(Poem poem) => FormFirst(poem.Title, poem.Form!);

    private static string TitleFirst(string title, PoetryForm form) => $"以《{title}》为题写一首{form.LongName}";

    private static string FormFirst(string title, PoetryForm form) => $"写一首{form.LongName}，题为《{title}》";

    /// <summary>The answer is the whole poem, first verse included, so it can be checked like any other answer.</summary>
    public static string Continuation(Poem poem) => $"给出首句，续写这首{poem.Form!.LongName}：{poem.Verses[0]}";

    public static bool HasPromptTitle(Poem poem) => poem.Title.EnumerateRunes().Count() <= MaxTitleLength;

    /// <summary>40% 以《题》为题…, 30% 写一首…，题为《题》, 30% continuation (always when the title is too long).</summary>
    public static string Any(Poem poem, Random random)
    {
        var draw = random.NextDouble();
        if (!HasPromptTitle(poem) || draw >= 0.7) return Continuation(poem);
        return draw < 0.4 ? TitleFirst(poem) : FormFirst(poem);
    }

    /// <summary>Held-out prompts ask for a titled poem, never a continuation.</summary>
    public static string Titled(Poem poem, Random random) => Titled(poem.Title, poem.Form!, random);

    /// <summary>A titled prompt asking for <paramref name="form"/>, whatever form the poem of that title has.</summary>
    public static string Titled(string title, PoetryForm form, Random random) =>
        random.Next(2) == 0 ? TitleFirst(title, form) : FormFirst(title, form);
}
