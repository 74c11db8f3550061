namespace MiniLlmPipeline.Data;

/// <summary>
/// A pretraining corpus (<c>text</c> column) of one or many Parquet shards (<see cref="DatasetShards"/>), every
/// shard's schema checked when it is opened, before any row is read; the text then streams row group by row
/// group, so memory holds one row group, never the corpus. It can be streamed any number of times (the
/// tokenize stage reads it once to learn the BPE and once to encode).
/// </summary>
public sealed class TextDataset
{
    public const string Column = "text";

    public IReadOnlyList<string> Shards { get; }
    public long Rows { get; }

    private TextDataset(IReadOnlyList<string> shards, long rows)
    {
        Shards = shards;
        Rows = rows;
    }

    public static TextDataset Open(string path)
    {
        var shards = DatasetShards.Resolve(path);
        long rows = 0;
        IReadOnlyList<string>? firstColumns = null;
        foreach (var shard in shards)
        {
            using var table = ParquetTable.Open(shard);
            table.RequireStringColumn(Column, "pretraining text");
            ParquetDatasets.RequireSameColumns(table, shards[0], ref firstColumns);
            rows += table.RowCount;
        }
        if (rows == 0) throw new DatasetException($"{path}: the dataset is empty (0 rows)");
        return new TextDataset(shards, rows);
    }

    /// <summary>The documents of each row group of each shard, in order; a null cell or invalid UTF-8 is a <see cref="DatasetException"/>.</summary>
    public IEnumerable<string[]> RowGroups()
    {
        foreach (var shard in Shards)
        {
            using var table = ParquetTable.Open(shard);
            var text = table.RequireStringColumn(Column, "pretraining text");
            long row = 0;
            foreach (var group in table.ReadStringColumns([text]))
            {
                var documents = new string[group[0].Length];
                for (var i = 0; i < documents.Length; i++) documents[i] = ParquetDatasets.Checked(shard, row++, Column, group[0][i]);
                yield return documents;
            }
        }
    }

    public IEnumerable<string> Documents() => RowGroups().SelectMany(group => group);
}
