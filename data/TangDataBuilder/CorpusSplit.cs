using MiniLlmPipeline.Evaluation;

namespace MiniLlmPipeline.TangData;

/// <summary>
/// Disjoint split of the cleaned poems, by poem, after one seeded shuffle: held-out prompt poems (a fixed number
/// per form, short titles), a validation slice, and the training rest. Validation and held-out poems never reach
/// any training file, pretraining included, so every evaluation sees unseen poems.
/// </summary>
internal sealed record CorpusSplit(IReadOnlyList<Poem> Train, IReadOnlyList<Poem> Validation, IReadOnlyList<Poem> HeldOut)
{
    public static CorpusSplit Make(IReadOnlyList<Poem> poems, int heldOutPerForm, double validationFraction, Random random)
    {
        var shuffled = poems.ToArray();
        random.Shuffle(shuffled);

        var heldOut = new HashSet<Poem>(ReferenceEqualityComparer.Instance);
        foreach (var form in PoetryForm.All)
            heldOut.UnionWith(shuffled.Where(p => p.Form == form && PromptTemplates.HasPromptTitle(p)).Take(heldOutPerForm));

        var rest = shuffled.Where(p => !heldOut.Contains(p)).ToList();
        var validationCount = (int)Math.Round(rest.Count * validationFraction);
        return new CorpusSplit(rest.Skip(validationCount).ToList(), rest.Take(validationCount).ToList(),
            shuffled.Where(heldOut.Contains).ToList());
    }
}
