using Parquet;
using Parquet.Data;
using Parquet.Meta;
using Parquet.Schema;

namespace MiniLlmPipeline.Data;

/// <summary>
/// One Parquet file opened for reading text columns, row group by row group, with its schema checked up
/// front. Columns are read by the layout the file declares (Parquet.Net's raw column reads plus the
/// definition/repetition levels, Dremel's encoding of nulls and lists), never through a class whose own
/// nullability would have to match the writer's: required or optional columns and struct fields, string,
/// large_string or binary byte arrays, dictionary or plain pages, any codec Parquet.Net decodes.
/// </summary>
internal sealed class ParquetTable : IDisposable
{
    private readonly FileStream _stream;
    private readonly ParquetReader _reader;

    public string Path { get; }
    public IReadOnlyList<string> Columns { get; }
    public long RowCount { get; }

    private ParquetTable(string path, FileStream stream, ParquetReader reader)
    {
        Path = path;
        _stream = stream;
        _reader = reader;
        Columns = reader.Schema.Fields.Select(f => f.Name).ToList();
        RowCount = reader.RowGroups.Sum(g => g.RowCount);
    }

    public static ParquetTable Open(string path)
    {
        if (!File.Exists(path)) throw new DatasetException($"{path}: file not found");
        var stream = File.OpenRead(path);
        try
        {
            // Byte arrays are decoded as UTF-8 whatever their annotation (string, large_string, un-annotated binary);
            // invalid UTF-8 becomes U+FFFD, which the dataset readers reject.
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

    public int RowGroupCount => _reader.RowGroupCount;

    public void RequireRows()
    {
        if (RowCount == 0) throw new DatasetException($"{Path}: the dataset is empty (0 rows)");
    }

    /// <summary>Throws unless <paramref name="column"/> exists as a top-level (not nested, not repeated) text column.</summary>
    public DataField RequireStringColumn(string column, string purpose)
    {
        var field = _reader.Schema.Fields.FirstOrDefault(f => f.Name == column)
            ?? throw new DatasetException(
                $"{Path}: missing column '{column}' ({purpose}); found columns: {string.Join(", ", Columns)}");
        if (field is not DataField data || data.MaxRepetitionLevel > 0)
            throw new DatasetException($"{Path}: column '{column}' must be a string column, but it is a {Describe(field)}");
        RequireText(data, column);
        return data;
    }

    /// <summary>
    /// Checks that <paramref name="column"/> is <c>list&lt;struct&lt;role: string, content: string, …&gt;&gt;</c>
    /// (each level required or optional; other struct fields are ignored) and returns its two leaves.
    /// </summary>
    public MessagesColumn RequireMessagesColumn(string column)
    {
        var field = _reader.Schema.Fields.First(f => f.Name == column);
        if (field is not ListField { Item: StructField item } list)
            throw new DatasetException(
                $"{Path}: column '{column}' must be a list of structs with fields 'role' and 'content', but it is a {Describe(field)}");
        DataField Leaf(string name)
        {
            var leaf = item.Fields.FirstOrDefault(f => f.Name == name)
                ?? throw new DatasetException(
                    $"{Path}: column '{column}' has no struct field '{name}'; its fields: {string.Join(", ", item.Fields.Select(f => f.Name))}");
            if (leaf is not DataField data)
                throw new DatasetException($"{Path}: column '{column}.{name}' must be a string, but it is a {Describe(leaf)}");
            RequireText(data, $"{column}.{name}");
            return data;
        }
        var role = Leaf("role");
        var content = Leaf("content");
        // Definition levels count the optional or repeated nodes that are present: the list column, the repeated
        // group (one entry = the list is not empty), the struct, the leaf.
        var listDefined = list.IsNullable ? 1 : 0;
        var levels = new MessagesColumn.DefinitionLevels(listDefined, listDefined + 1, listDefined + 1 + (item.IsNullable ? 1 : 0));
        foreach (var leaf in new[] { role, content })
            if (leaf.MaxRepetitionLevel != 1 || leaf.MaxDefinitionLevel != levels.Element + (leaf.IsNullable ? 1 : 0))
                throw new DatasetException(
                    $"{Path}: column '{leaf.Path}' has an unsupported nesting (definition level {leaf.MaxDefinitionLevel}, repetition level {leaf.MaxRepetitionLevel})");
        return new MessagesColumn(column, role, content, levels);
    }

    /// <summary>Reads top-level text columns one row group at a time; yields one array per column per row group (null = a null cell).</summary>
    public IEnumerable<string?[][]> ReadStringColumns(IReadOnlyList<DataField> fields)
    {
        for (var g = 0; g < _reader.RowGroupCount; g++)
        {
            using var group = _reader.OpenRowGroupReader(g);
            var columns = new string?[fields.Count][];
            for (var c = 0; c < fields.Count; c++)
            {
                using var raw = ReadRaw(group, fields[c]);
                var values = raw.Values;
                var cells = new string?[group.RowCount];
                if (fields[c].MaxDefinitionLevel == 0)
                    for (var i = 0; i < values.Length; i++) cells[i] = values[i].ToString();
                else
                {
                    var defined = raw.DefinitionLevels;
                    for (int i = 0, v = 0; i < cells.Length; i++)
                        cells[i] = defined[i] == fields[c].MaxDefinitionLevel ? values[v++].ToString() : null;
                }
                columns[c] = cells;
            }
            yield return columns;
        }
    }

    /// <summary>
    /// Reads a <see cref="MessagesColumn"/> one row group at a time: per row, null for a null list, else its turns
    /// (a null struct is a turn with null role and content).
    /// </summary>
    public IEnumerable<List<(string? Role, string? Content)>?[]> ReadMessages(MessagesColumn column)
    {
        for (var g = 0; g < _reader.RowGroupCount; g++)
        {
            using var group = _reader.OpenRowGroupReader(g);
            var roles = Assemble(group, column.Role, column.Levels);
            var contents = Assemble(group, column.Content, column.Levels);
            var rows = new List<(string?, string?)>?[roles.Length];
            for (var r = 0; r < rows.Length; r++)
            {
                if (roles[r] is not { } roleList || contents[r] is not { } contentList) continue;
                if (roleList.Count != contentList.Count)
                    throw new DatasetException($"{Path}: column '{column.Name}': row {r} of row group {g} has {roleList.Count} roles but {contentList.Count} contents");
                rows[r] = roleList.Zip(contentList, (role, content) => (role, content)).ToList();
            }
            yield return rows;
        }
    }

    /// <summary>Undoes Dremel's striping for one leaf of a list of structs: a repetition level of 0 starts a row.</summary>
    private List<string?>?[] Assemble(ParquetRowGroupReader group, DataField leaf, MessagesColumn.DefinitionLevels levels)
    {
        using var raw = ReadRaw(group, leaf);
        var values = raw.Values;
        var defined = raw.DefinitionLevels;
        var repeated = raw.RepetitionLevels;
        var rows = new List<string?>?[group.RowCount];
        int row = -1, v = 0;
        for (var i = 0; i < defined.Length; i++)
        {
            if (repeated[i] == 0) row++;
            if (row >= rows.Length) throw new DatasetException($"{Path}: column '{leaf.Path}' holds more rows than its row group declares");
            var level = defined[i];
            if (level < levels.List) continue;                           // null list
            var turns = rows[row] ??= [];
            if (level < levels.Entry) continue;                          // empty list
            turns.Add(level == leaf.MaxDefinitionLevel ? values[v++].ToString() : null);   // a null struct or null leaf
        }
        return rows;
    }

    private RawColumnData<ReadOnlyMemory<char>> ReadRaw(ParquetRowGroupReader group, DataField field)
    {
        var raw = group.ReadRawColumnDataBaseAsync(field, CancellationToken.None).AsTask().GetAwaiter().GetResult();
        return raw as RawColumnData<ReadOnlyMemory<char>>
            ?? throw new DatasetException($"{Path}: column '{field.Path}' did not decode as text ({raw.GetType().Name})");
    }

    /// <summary>Byte arrays only: string and large_string are BYTE_ARRAY with a UTF-8 annotation, binary is BYTE_ARRAY without.</summary>
    private void RequireText(DataField field, string column)
    {
        if (field.SchemaElement?.Type != Parquet.Meta.Type.BYTE_ARRAY || field.ClrType != typeof(ReadOnlyMemory<char>))
            throw new DatasetException($"{Path}: column '{column}' must be a string column, but it is {PhysicalType(field)}");
    }

    private static string Describe(Field field) => field switch
    {
        DataField data when data.MaxRepetitionLevel > 0 => $"repeated {PhysicalType(data)}",
        DataField data => PhysicalType(data),
        ListField list => $"list of {(list.Item is DataField item ? PhysicalType(item) : Describe(list.Item))}",
        StructField s => $"struct<{string.Join(", ", s.Fields.Select(f => f.Name))}>",
        MapField => "map",
        _ => field.SchemaType.ToString(),
    };

    private static string PhysicalType(DataField field)
    {
        var element = field.SchemaElement;
        var logical = element?.LogicalType switch
        {
            null => element?.ConvertedType?.ToString(),
            { STRING: not null } => "STRING",
            { INTEGER: { } i } => $"INT({i.BitWidth}, {(i.IsSigned ? "signed" : "unsigned")})",
            { DECIMAL: not null } => "DECIMAL",
            { TIMESTAMP: not null } => "TIMESTAMP",
            { DATE: not null } => "DATE",
            _ => null,
        };
        return $"physical type {element?.Type.ToString() ?? field.ClrType.Name}{(logical is null ? "" : $" ({logical})")}";
    }

    public void Dispose()
    {
        _reader.DisposeAsync().AsTask().GetAwaiter().GetResult();
        _stream.Dispose();
    }
}
