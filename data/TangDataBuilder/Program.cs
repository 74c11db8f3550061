using System.CommandLine;
using System.ComponentModel;
using System.Diagnostics;
using MiniLlmPipeline.TangData;

// make data: installs chinese-poetry + opencc-js + pinyin-pro with npm into a scratch folder, cleans 全唐诗, and writes
// data/tang/*.parquet and data/tiny/*.parquet deterministically from --seed, and data/tang/rhymes.tsv (the
// character → 十三辙 table the form checker embeds).
var outOption = new Option<string>("--out") { Description = "Folder that receives tang/ and tiny/", DefaultValueFactory = _ => "data" };
var seedOption = new Option<int>("--seed") { Description = "Seed of every shuffle and draw", DefaultValueFactory = _ => 1337 };
var workOption = new Option<string>("--work")
{
    Description = "Scratch folder for npm packages (git-ignored)", DefaultValueFactory = _ => Path.Combine("artifacts", "tang-data"),
};
var command = new RootCommand("Builds the Tang-poetry datasets from the chinese-poetry npm package") { outOption, seedOption, workOption };
command.SetAction(parsed =>
{
    var clock = Stopwatch.StartNew();
    IReadOnlyList<SourcePoem> sources;
    var output = parsed.GetValue(outOption)!;
    try
    {
        sources = NpmSource.Load(parsed.GetValue(workOption)!);
        var rhymes = Path.Combine(output, "tang", "rhymes.tsv");
        Console.WriteLine($"{NpmSource.WriteRhymeTable(parsed.GetValue(workOption)!, rhymes)} characters in {rhymes}");
    }
    catch (Exception e) when (e is InvalidOperationException or Win32Exception)
    {
        // npm or node missing, or no registry: one sentence, not a stack trace.
        Console.Error.WriteLine($"make data: {e.Message} (needs node, npm and access to the npm registry)");
        return 1;
    }
    var rejections = new SortedDictionary<string, int>(StringComparer.Ordinal);
    var poems = PoemCleaner.CleanAll(sources, rejections);
    Console.WriteLine($"{sources.Count} source poems, {poems.Count} kept ({poems.Count(p => p.Form is not null)} of a regular form); dropped: "
                      + string.Join(", ", rejections.Select(r => $"{r.Key} {r.Value}")));

    var tang = TangCorpus.Build(poems, parsed.GetValue(seedOption));
    tang.Write(Path.Combine(output, "tang"));
    Console.WriteLine(tang.Summary(Path.Combine(output, "tang")));
    var tiny = tang.Tiny(pretrain: 300, pretrainVal: 40, pairs: 120, pairsVal: 24, promptsPerForm: 4);
    tiny.Write(Path.Combine(output, "tiny"));
    Console.WriteLine(tiny.Summary(Path.Combine(output, "tiny")));
    Console.WriteLine($"done in {clock.Elapsed.TotalSeconds:F0} s");
    return 0;
});
return command.Parse(args).Invoke();
