using Parquet;
using Parquet.Schema;
using Parquet.Serialization;

namespace MiniLlmPipeline.Data;

/// <summary>
/// A Parquet file opened for reading string columns, row group by row group, with its schema checked
/// up front. Works with files from any writer: dictionary/plain encodings, snappy/zstd/gzip, many row
/// groups and nullable columns are all handled by Parquet.Net.
/// </summary>
internal sealed class ParquetTable : IDisposable
{
    private readonly FileStream _stream;
    private readonly ParquetReader _reader;

    public string Path { get; }
    public IReadOnlyList<string> Columns { get; }

    private ParquetTable(string path, FileStream stream, ParquetReader reader)
    {
        Path = path;
        _stream = stream;
        _reader = reader;
        Columns = reader.Schema.Fields.Select(f => f.Name).ToList();
    }

    public static ParquetTable Open(string path)
    {
        if (!File.Exists(path)) throw new DatasetException($"{path}: file not found");
        var stream = File.OpenRead(path);
        try
        {
            var reader = ParquetReader.CreateAsync(stream, new ParquetOptions { TreatByteArrayAsString = true }, leaveStreamOpen: true)
                .GetAwaiter().GetResult();
            return new ParquetTable(path, stream, reader);
        }
        catch (Exception e) when (e is not DatasetException)
        {
            stream.Dispose();
            throw new DatasetException($"{path}: not a readable Parquet file ({e.Message})");
        }
    }

    public bool Has(string column) => Columns.Contains(column);

    public long RowCount => _reader.RowGroups.Sum(g => g.RowCount);

    /// <summary>Throws unless <paramref name="column"/> exists as a top-level string column.</summary>
    public DataField RequireStringColumn(string column, string purpose)
    {
        var field = _reader.Schema.Fields.FirstOrDefault(f => f.Name == column)
            ?? throw new DatasetException(
                $"{Path}: missing column '{column}' ({purpose}); found columns: {string.Join(", ", Columns)}");
        // Parquet.Net 6 reports UTF-8 byte-array columns as ReadOnlyMemory<char>; both read as strings.
        if (field is not DataField data || data.IsArray || (data.ClrType != typeof(string) && data.ClrType != typeof(ReadOnlyMemory<char>)))
            throw new DatasetException($"{Path}: column '{column}' must be a string column, but it is {field}");
        return data;
    }

    public void RequireRows()
    {
        if (RowCount == 0) throw new DatasetException($"{Path}: the dataset is empty (0 rows)");
    }

    /// <summary>Reads string columns one row group at a time; yields one array per column per row group.</summary>
    public IEnumerable<string?[][]> ReadStringColumns(IReadOnlyList<DataField> fields)
    {
        for (var g = 0; g < _reader.RowGroupCount; g++)
        {
            using var group = _reader.OpenRowGroupReader(g);
            var rows = checked((int)group.RowCount);
            var columns = new string?[fields.Count][];
            for (var c = 0; c < fields.Count; c++)
            {
                var values = new string?[rows];
                group.ReadAsync(fields[c], values.AsMemory()!, null, CancellationToken.None).AsTask().GetAwaiter().GetResult();
                columns[c] = values;
            }
            yield return columns;
        }
    }

    /// <summary>Reads a nested column through Parquet.Net's class deserializer, one row group at a time.</summary>
    public IEnumerable<IList<T>> ReadRowsOf<T>() where T : class, new()
    {
        for (var g = 0; g < _reader.RowGroupCount; g++)
        {
            _stream.Position = 0;
            var result = ParquetSerializer.DeserializeAsync<T>(_stream, null, g, CancellationToken.None).GetAwaiter().GetResult();
            yield return result.Data;
        }
    }

    public void Dispose()
    {
        _reader.DisposeAsync().AsTask().GetAwaiter().GetResult();
        _stream.Dispose();
    }
}
