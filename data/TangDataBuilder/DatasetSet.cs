using MiniLlmPipeline.Data;
using MiniLlmPipeline.Evaluation;

namespace MiniLlmPipeline.TangData;

/// <summary>The eight files of one corpus folder (data/tang or data/tiny), in memory until written.</summary>
internal sealed record DatasetSet(
    IReadOnlyList<string> Pretrain, IReadOnlyList<string> PretrainVal,
    IReadOnlyList<SftRow> Sft, IReadOnlyList<SftRow> SftVal,
    IReadOnlyList<PreferenceRow> Preferences, IReadOnlyList<PreferenceRow> PreferencesVal,
    IReadOnlyList<PromptRow> Prompts, IReadOnlyList<PromptRow> RlPrompts)
{
    public void Write(string folder)
    {
        Directory.CreateDirectory(folder);
        ParquetDatasets.WriteStrings(Path.Combine(folder, "pretrain.parquet"), [("text", Pretrain)]);
        ParquetDatasets.WriteStrings(Path.Combine(folder, "pretrain_val.parquet"), [("text", PretrainVal)]);
        WriteSft(Path.Combine(folder, "sft.parquet"), Sft);
        WriteSft(Path.Combine(folder, "sft_val.parquet"), SftVal);
        WritePreferences(Path.Combine(folder, "preferences.parquet"), Preferences);
        WritePreferences(Path.Combine(folder, "preferences_val.parquet"), PreferencesVal);
        WritePrompts(Path.Combine(folder, "prompts.parquet"), Prompts);
        WritePrompts(Path.Combine(folder, "rl_prompts.parquet"), RlPrompts);
    }

    /// <summary>
    /// A small slice for pipelines/tiny.yaml: the first rows of each file; SFT and preference rows only of quatrains
    /// (short enough for a 64-token context), prompts balanced over the four forms.
    /// </summary>
    public DatasetSet Tiny(int pretrain, int pretrainVal, int pairs, int pairsVal, int promptsPerForm) => new(
        Pretrain.Take(pretrain).ToList(), PretrainVal.Take(pretrainVal).ToList(),
        Sft.Where(r => r.Form.Lines == 4).Take(pairs).ToList(), SftVal.Where(r => r.Form.Lines == 4).Take(pairsVal).ToList(),
        Preferences.Where(r => r.Form.Lines == 4).Take(pairs).ToList(),
        PreferencesVal.Where(r => r.Form.Lines == 4).Take(pairsVal).ToList(),
        PoetryForm.All.SelectMany(f => Prompts.Where(r => r.Form == f).Take(promptsPerForm)).ToList(),
        RlPrompts.Where(r => r.Form.Lines == 4).Take(pairs).ToList());

    public string Summary(string folder)
    {
        string Forms(IEnumerable<PoetryForm> forms) =>
            string.Join(" ", PoetryForm.All.Select(f => $"{f.ShortName} {forms.Count(x => x == f)}"));
        string Kinds(IReadOnlyList<PreferenceRow> rows) =>
            string.Join(" ", Enum.GetValues<RejectedKind>().Select(k => $"{k} {rows.Count(r => r.Kind == k)}"));
        return string.Join("\n",
            $"{folder}: pretrain {Pretrain.Count}, pretrain_val {PretrainVal.Count}",
            $"  sft {Sft.Count} ({Forms(Sft.Select(r => r.Form))}), sft_val {SftVal.Count}",
            $"  preferences {Preferences.Count} ({Forms(Preferences.Select(r => r.Form))}), preferences_val {PreferencesVal.Count}",
            $"  rejected kinds train: {Kinds(Preferences)}",
            $"  rejected kinds val:   {Kinds(PreferencesVal)}",
            $"  prompts {Prompts.Count} ({Forms(Prompts.Select(r => r.Form))})",
            $"  rl_prompts {RlPrompts.Count} ({Forms(RlPrompts.Select(r => r.Form))})");
    }

    private static void WriteSft(string path, IReadOnlyList<SftRow> rows) =>
        ParquetDatasets.WriteStrings(path,
            [("prompt", rows.Select(r => r.Prompt).ToList()), ("response", rows.Select(r => r.Response).ToList())]);

    private static void WritePrompts(string path, IReadOnlyList<PromptRow> rows) =>
        ParquetDatasets.WriteStrings(path,
        [
            ("prompt", rows.Select(r => r.Prompt).ToList()),
            ("form", rows.Select(r => r.Form.ShortName).ToList()),
            ("title", rows.Select(r => r.Title).ToList()),
        ]);

    private static void WritePreferences(string path, IReadOnlyList<PreferenceRow> rows) =>
        ParquetDatasets.WriteStrings(path,
        [
            ("prompt", rows.Select(r => r.Prompt).ToList()),
            ("chosen", rows.Select(r => r.Chosen).ToList()),
            ("rejected", rows.Select(r => r.Rejected).ToList()),
        ]);
}
