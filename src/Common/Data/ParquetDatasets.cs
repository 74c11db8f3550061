using MiniLlmPipeline.IO;
using Parquet;
using Parquet.Schema;

namespace MiniLlmPipeline.Data;

/// <summary>
/// Typed access to the four dataset kinds the stages read (Hugging Face column names; data/README.md lists the shipped files):
/// pretraining <c>text</c>; SFT <c>prompt</c>/<c>response</c> or <c>messages</c>; preferences
/// <c>prompt</c>/<c>chosen</c>/<c>rejected</c>; prompts <c>prompt</c> + any extra string columns.
/// Every path may be one file, a folder of shards or a glob (<see cref="DatasetShards"/>); shards are read in
/// order and must have the same columns. Columns of every shard are checked before any row is read; a null
/// cell, invalid UTF-8 or an empty dataset is a <see cref="DatasetException"/> naming the file (the shard), row and column.
/// </summary>
public static class ParquetDatasets
{
    /// <summary>Streams the <c>text</c> column row group by row group (pretraining corpora can be large); see <see cref="TextDataset"/>.</summary>
    public static IEnumerable<string> ReadText(string path) => TextDataset.Open(path).Documents();

    public static IReadOnlyList<SftExample> ReadSft(string path)
    {
        var examples = new List<SftExample>();
        using var shards = OpenShards(path);
        var messages = shards.Tables[0].Has("messages");
        foreach (var table in shards.Tables)
        {
            if (!messages && (!table.Has("prompt") || !table.Has("response")))
                throw new DatasetException(
                    $"{table.Path}: an SFT dataset needs columns 'prompt' and 'response', or 'messages'; found columns: {string.Join(", ", table.Columns)}");
            if (messages) table.RequireMessagesColumn("messages");
            else foreach (var name in new[] { "prompt", "response" }) table.RequireStringColumn(name, "SFT pair");
        }
        foreach (var table in shards.Tables)
        {
            if (messages) examples.AddRange(ReadMessages(table));
            else
                foreach (var row in ReadRows(table, ["prompt", "response"], "SFT pair"))
                    examples.Add(SftExample.FromPair(row[0], row[1]));
        }
        return examples;
    }

    public static IReadOnlyList<PreferenceExample> ReadPreferences(string path)
    {
        using var shards = OpenShards(path);
        string[] names = ["prompt", "chosen", "rejected"];
        foreach (var table in shards.Tables)
            foreach (var name in names) table.RequireStringColumn(name, "preference pair");
        return shards.Tables.SelectMany(table => ReadRows(table, names, "preference pair"))
            .Select(r => new PreferenceExample(r[0], r[1], r[2])).ToList();
    }

    /// <summary>Prompts plus every other string column (evaluators read e.g. <c>form</c>).</summary>
    public static IReadOnlyList<PromptExample> ReadPrompts(string path, params string[] requiredExtraColumns)
    {
        using var shards = OpenShards(path);
        var columns = shards.Tables.Select(table =>
        {
            var prompt = table.RequireStringColumn("prompt", "generation prompt");
            foreach (var column in requiredExtraColumns) table.RequireStringColumn(column, "used by the evaluator");
            var extras = table.Columns.Where(c => c != "prompt").Select(c => table.RequireStringColumn(c, "extra column")).ToList();
            return (Prompt: prompt, Extras: extras);
        }).ToList();
        var examples = new List<PromptExample>();
        for (var s = 0; s < shards.Tables.Count; s++)
        {
            var (table, (prompt, extras)) = (shards.Tables[s], columns[s]);
            long row = 0;
            foreach (var group in table.ReadStringColumns([prompt, .. extras]))
            {
                for (var i = 0; i < group[0].Length; i++, row++)
                {
                    var extra = new Dictionary<string, string>(StringComparer.Ordinal);
                    for (var c = 0; c < extras.Count; c++)
                        if (group[c + 1][i] is { } v) extra[extras[c].Name] = v;
                    examples.Add(new PromptExample(Checked(table.Path, row, "prompt", group[0][i]), extra));
                }
            }
        }
        return examples;
    }

    /// <summary>Writes string columns (one row group, zstd) atomically: a crash never leaves a torn file.</summary>
    public static void WriteStrings(string path, IReadOnlyList<(string Name, IReadOnlyList<string> Values)> columns)
    {
        if (columns.Count == 0 || columns.Any(c => c.Values.Count != columns[0].Values.Count))
            throw new ArgumentException("columns must be non-empty and of equal length", nameof(columns));
        var fields = columns.Select(c => new DataField<string>(c.Name)).ToArray();
        AtomicFile.Write(path, stream =>
        {
            var writer = ParquetWriter.CreateAsync(new ParquetSchema(fields), stream,
                new ParquetOptions { CompressionMethod = CompressionMethod.Zstd }).GetAwaiter().GetResult();
            using (var group = writer.CreateRowGroup())
                for (var c = 0; c < columns.Count; c++)
                    group.WriteAsync(fields[c], columns[c].Values.ToArray(), null).GetAwaiter().GetResult();
            writer.DisposeAsync().AsTask().GetAwaiter().GetResult();
        });
    }

    private static IEnumerable<string[]> ReadRows(ParquetTable table, string[] names, string purpose)
    {
        var fields = names.Select(n => table.RequireStringColumn(n, purpose)).ToList();
        long row = 0;
        foreach (var group in table.ReadStringColumns(fields))
        {
            for (var i = 0; i < group[0].Length; i++, row++)
            {
                var values = new string[names.Length];
                for (var c = 0; c < names.Length; c++) values[c] = Checked(table.Path, row, names[c], group[c][i]);
                yield return values;
            }
        }
    }

    private static IEnumerable<SftExample> ReadMessages(ParquetTable table)
    {
        var column = table.RequireMessagesColumn("messages");
        long row = 0;
        foreach (var group in table.ReadMessages(column))
        {
            foreach (var messages in group)
            {
                if (messages is not { Count: > 0 })
                    throw new DatasetException($"{table.Path}: row {row}: column 'messages' is null or empty");
                var turns = messages.Select(m => new ConversationTurn(
                    Checked(table.Path, row, "messages.role", m.Role), Checked(table.Path, row, "messages.content", m.Content))).ToList();
                if (turns.FirstOrDefault(t => t.Role is not ("system" or "user" or "assistant")) is { } bad)
                    throw new DatasetException($"{table.Path}: row {row}: messages.role '{bad.Role}' is not system, user or assistant");
                if (!turns.Any(t => t.Role == "assistant"))
                    throw new DatasetException($"{table.Path}: row {row}: messages has no assistant turn to learn from");
                yield return new SftExample(turns);
                row++;
            }
        }
    }

    /// <summary>
    /// Shards of one dataset must have the same columns (Hugging Face shards always do); the first one that differs
    /// is named with the column it lacks or adds. <paramref name="firstColumns"/> is null until the first shard is seen.
    /// </summary>
    internal static void RequireSameColumns(ParquetTable table, string firstShard, ref IReadOnlyList<string>? firstColumns)
    {
        if (firstColumns is null)
        {
            firstColumns = table.Columns;
            return;
        }
        var first = firstColumns;
        if (first.FirstOrDefault(c => !table.Has(c)) is { } missing)
            throw new DatasetException($"{table.Path}: missing column '{missing}', which shard {firstShard} has; the shards of a dataset must have the same columns");
        if (table.Columns.FirstOrDefault(c => !first.Contains(c)) is { } extra)
            throw new DatasetException($"{table.Path}: column '{extra}' is not in shard {firstShard}; the shards of a dataset must have the same columns");
    }

    /// <summary>Every shard of <paramref name="path"/> opened, non-empty in total and with the same columns.</summary>
    private static OpenShardSet OpenShards(string path)
    {
        var set = new OpenShardSet();
        try
        {
            IReadOnlyList<string>? firstColumns = null;
            var shards = DatasetShards.Resolve(path);
            foreach (var shard in shards)
            {
                var table = ParquetTable.Open(shard);
                set.Tables.Add(table);
                RequireSameColumns(table, shards[0], ref firstColumns);
            }
            if (set.Tables.Sum(t => t.RowCount) == 0)
                throw new DatasetException($"{path}: the dataset is empty (0 rows)");
            return set;
        }
        catch
        {
            set.Dispose();
            throw;
        }
    }

    private sealed class OpenShardSet : IDisposable
    {
        public List<ParquetTable> Tables { get; } = [];
        public void Dispose() => Tables.ForEach(t => t.Dispose());
    }

    internal static string Checked(string path, long row, string column, string? value)
    {
        if (value is null) throw new DatasetException($"{path}: row {row}: column '{column}' is null");
        // Parquet.Net decodes invalid UTF-8 to U+FFFD; training on it would silently learn garbage.
        if (value.Contains('\uFFFD')) throw new DatasetException($"{path}: row {row}: column '{column}' is not valid UTF-8 text");
        return value;
    }
}
