using MiniLlmPipeline.IO;
using Parquet;
using Parquet.Schema;
using MiniLlmPipeline.Pipeline;

namespace MiniLlmPipeline.Data;

/// <summary>
/// Typed access to the four dataset kinds the stages read (Hugging Face column names; data/README.md lists the shipped files):
/// pretraining <c>text</c>; SFT <c>prompt</c>/<c>response</c> or <c>messages</c>; preferences
/// <c>prompt</c>/<c>chosen</c>/<c>rejected</c>; prompts <c>prompt</c> + any extra string columns.
/// Columns are checked before any row is read; a null cell, invalid UTF-8 or an empty file is a
/// <see cref="DatasetException"/> naming the file, row and column.
/// </summary>
public static class ParquetDatasets
{
    /// <summary>Streams the <c>text</c> column row group by row group (pretraining corpora can be large).</summary>
    public static IEnumerable<string> ReadText(string path)
    {
        using var table = ParquetTable.Open(path);
        var text = table.RequireStringColumn("text", "pretraining text");
        table.RequireRows();
        long row = 0;
        foreach (var group in table.ReadStringColumns([text]))
            foreach (var value in group[0])
                yield return Checked(path, row++, "text", value);
    }

    public static IReadOnlyList<SftExample> ReadSft(string path)
    {
        using var table = ParquetTable.Open(path);
        table.RequireRows();
        if (table.Has("messages")) return ReadMessages(table);
        if (!table.Has("prompt") || !table.Has("response"))
            throw new DatasetException(
                $"{path}: an SFT dataset needs columns 'prompt' and 'response', or 'messages'; found columns: {string.Join(", ", table.Columns)}");
        var examples = new List<SftExample>();
        foreach (var row in ReadRows(table, ["prompt", "response"], "SFT pair"))
            examples.Add(SftExample.FromPair(row[0], row[1]));
        return examples;
    }

    public static IReadOnlyList<PreferenceExample> ReadPreferences(string path)
    {
        using var table = ParquetTable.Open(path);
        table.RequireRows();
        return ReadRows(table, ["prompt", "chosen", "rejected"], "preference pair")
            .Select(r => new PreferenceExample(r[0], r[1], r[2])).ToList();
    }

    /// <summary>Prompts plus every other string column (evaluators read e.g. <c>form</c>).</summary>
    public static IReadOnlyList<PromptExample> ReadPrompts(string path, params string[] requiredExtraColumns)
    {
        using var table = ParquetTable.Open(path);
        table.RequireRows();
        var prompt = table.RequireStringColumn("prompt", "generation prompt");
        foreach (var column in requiredExtraColumns) table.RequireStringColumn(column, "used by the evaluator");
        var extras = table.Columns.Where(c => c != "prompt")
            .Select(c => table.RequireStringColumn(c, "extra column")).ToList();
        var examples = new List<PromptExample>();
        long row = 0;
        foreach (var group in table.ReadStringColumns([prompt, .. extras]))
        {
            for (var i = 0; i < group[0].Length; i++, row++)
            {
                var extra = new Dictionary<string, string>(StringComparer.Ordinal);
                for (var c = 0; c < extras.Count; c++)
                    if (group[c + 1][i] is { } v) extra[extras[c].Name] = v;
                examples.Add(new PromptExample(Checked(path, row, "prompt", group[0][i]), extra));
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

    private static IReadOnlyList<SftExample> ReadMessages(ParquetTable table)
    {
        var examples = new List<SftExample>();
        long row = 0;
        foreach (var group in table.ReadRowsOf<MessagesRow>())
        {
            foreach (var r in group)
            {
                if (r.Messages is not { Count: > 0 } messages)
                    throw new DatasetException($"{table.Path}: row {row}: column 'messages' is null or empty");
                var turns = messages.Select(m => new ConversationTurn(
                    Checked(table.Path, row, "messages.role", m.Role), Checked(table.Path, row, "messages.content", m.Content))).ToList();
                if (turns.FirstOrDefault(t => t.Role is not ("system" or "user" or "assistant")) is { } bad)
                    throw new DatasetException($"{table.Path}: row {row}: messages.role '{bad.Role}' is not system, user or assistant");
                if (!turns.Any(t => t.Role == "assistant"))
                    throw new DatasetException($"{table.Path}: row {row}: messages has no assistant turn to learn from");
                examples.Add(new SftExample(turns));
                row++;
            }
        }
        return examples;
    }

    private static string Checked(string path, long row, string column, string? value)
    {
        if (value is null) throw new DatasetException($"{path}: row {row}: column '{column}' is null");
        // Parquet.Net decodes invalid UTF-8 to U+FFFD; training on it would silently learn garbage.
        if (value.Contains('\uFFFD')) throw new DatasetException($"{path}: row {row}: column '{column}' is not valid UTF-8 text");
        return value;
    }
}
