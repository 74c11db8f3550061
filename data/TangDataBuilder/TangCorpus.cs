using MiniLlmPipeline.Evaluation;

namespace MiniLlmPipeline.TangData;

/// <summary>
/// Builds every file of data/tang from the cleaned poems. Each product draws from its own seeded generator,
/// so changing one (say the preference count) leaves the others byte-identical.
/// </summary>
internal static class TangCorpus
{
    public const int HeldOutPerForm = 100;
    public const double ValidationFraction = 0.02;
    public const int SftPoems = 20_000;
    public const int PreferencePoems = 12_000;
    public const int ValidationPairs = 600;
    public const int RlPrompts = 12_000;

    public static DatasetSet Build(IReadOnlyList<Poem> poems, int seed)
    {
        var split = CorpusSplit.Make(poems, HeldOutPerForm, ValidationFraction, new Random(seed));
        var trainRegular = split.Train.Where(p => p.Form is not null).ToList();
        var validationRegular = split.Validation.Where(p => p.Form is not null).Take(ValidationPairs).ToList();
        // SFT and preference training pairs come from different poems, so a reward model is not judged on SFT poems.
        var sftPoems = trainRegular.Take(SftPoems).ToList();
        var preferencePoems = trainRegular.Skip(SftPoems).Take(PreferencePoems).ToList();

        var pretrainVal = split.Validation.Concat(split.HeldOut).Select(p => p.PretrainText).ToArray();
        new Random(seed + 1).Shuffle(pretrainVal);
        return new DatasetSet(
            split.Train.Select(p => p.PretrainText).ToList(), pretrainVal,
            Sft(sftPoems, new Random(seed + 2)), Sft(validationRegular, new Random(seed + 3)),
            Preferences(preferencePoems, trainRegular, new Random(seed + 4)),
            Preferences(validationRegular, split.Validation.Where(p => p.Form is not null).ToList(), new Random(seed + 5)),
            Prompts(split.HeldOut, new Random(seed + 6)),
            RlPromptRows(split.Train, new Random(seed + 7)));
    }

    private static List<SftRow> Sft(IEnumerable<Poem> poems, Random random) =>
        poems.Select(p => new SftRow(PromptTemplates.Any(p, random), p.Body, p.Form!)).ToList();

    /// <summary>Each row's rejected kind is drawn uniformly, so each is about a fifth of the rows.</summary>
    private static List<PreferenceRow> Preferences(IEnumerable<Poem> poems, IReadOnlyList<Poem> wrongFormPool, Random random)
    {
        var kinds = Enum.GetValues<RejectedKind>();
        return poems.Select(p =>
        {
            var prompt = PromptTemplates.Any(p, random);
            var (rejected, kind) = RejectedAnswers.Make(kinds[random.Next(kinds.Length)], p, wrongFormPool, random);
            return new PreferenceRow(prompt, p.Body, rejected, kind, p.Form!);
        }).ToList();
    }

    /// <summary>
    /// Prompts for the RL stages: titles of training poems (any poem with a short title, regular or not), each asking
    /// for a form drawn uniformly, independent of the poem's own, in the held-out prompts' two titled templates. A
    /// policy trained on preference prompts (training poems asking for their own form, 30 % continuations that show the
    /// verse length) could lean on the poem it remembers or on the given first verse; here only the instruction tells
    /// the form, and the four forms come equally often, as in the held-out prompts.
    /// </summary>
    private static List<PromptRow> RlPromptRows(IReadOnlyList<Poem> train, Random random)
    {
        var titled = train.Where(PromptTemplates.HasPromptTitle).ToArray();
        random.Shuffle(titled);
        return titled.Take(RlPrompts).Select(p =>
        {
            var form = PoetryForm.All[random.Next(PoetryForm.All.Count)];
            return new PromptRow(PromptTemplates.Titled(p.Title, form, random), form, p.Title);
        }).ToList();
    }

    private static List<PromptRow> Prompts(IEnumerable<Poem> poems, Random random) =>
        poems.Select(p => new PromptRow(PromptTemplates.Titled(p, random), p.Form!, p.Title)).ToList();
}
