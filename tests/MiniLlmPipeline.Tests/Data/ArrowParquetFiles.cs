using Apache.Arrow;
using Apache.Arrow.Types;
using ParquetSharp;
using ArrowSchema = Apache.Arrow.Schema;

namespace MiniLlmPipeline.Tests.Data;

/// <summary>
/// Writes Parquet files with ParquetSharp (Arrow C++'s writer, the one pyarrow, Polars and many Spark exports share), so the
/// dataset readers are tested on layouts Parquet.Net did not write: required or optional at every level, string,
/// large_string or binary, dictionary or plain, every codec, many row groups.
/// </summary>
public static class ArrowParquetFiles
{
    public sealed record Layout(Compression Codec = Compression.Snappy, bool Dictionary = true, long RowGroupRows = 1 << 20, bool DataPageV2 = false);

    public static void Write(string path, RecordBatch batch, Layout? layout = null)
    {
        layout ??= new Layout();
        var properties = new WriterPropertiesBuilder().Compression(layout.Codec);
        if (!layout.Dictionary) properties.DisableDictionary();
        if (layout.DataPageV2) properties.DataPageVersion(ParquetDataPageVersion.V2);
        using var writer = new ParquetSharp.Arrow.FileWriter(path, batch.Schema, properties.Build());
        writer.WriteRecordBatch(batch, layout.RowGroupRows);
        writer.Close();
    }

    public enum TextKind { String, LargeString, Binary }

    /// <summary>One column of text in the given Arrow type; null entries become null cells (the field is then optional).</summary>
    public static (Field Field, IArrowArray Array) TextColumn(string name, IReadOnlyList<string?> values, TextKind kind = TextKind.String, bool nullable = false)
    {
        IArrowArray array;
        IArrowType type;
        switch (kind)
        {
            case TextKind.LargeString:
            {
                // Arrow 18's C# API has no LargeStringArray builder: 64-bit offsets, UTF-8 bytes and validity by hand.
                var offsets = new ArrowBuffer.Builder<long>().Append(0);
                var bytes = new ArrowBuffer.Builder<byte>();
                var validity = new ArrowBuffer.BitmapBuilder();
                long end = 0;
                foreach (var v in values)
                {
                    var utf8 = System.Text.Encoding.UTF8.GetBytes(v ?? "");
                    bytes.Append(utf8.AsSpan());
                    offsets.Append(end += utf8.Length);
                    validity.Append(v is not null);
                }
                var nulls = values.Count(v => v is null);
                array = new LargeStringArray(values.Count, offsets.Build(), bytes.Build(), nulls == 0 ? ArrowBuffer.Empty : validity.Build(), nulls);
                type = LargeStringType.Default;
                break;
            }
            case TextKind.Binary:
            {
                var b = new BinaryArray.Builder();
                foreach (var v in values) if (v is null) b.AppendNull(); else b.Append(System.Text.Encoding.UTF8.GetBytes(v).AsSpan());
                (array, type) = (b.Build(), BinaryType.Default);
                break;
            }
            default:
            {
                var b = new StringArray.Builder();
                foreach (var v in values) if (v is null) b.AppendNull(); else b.Append(v);
                (array, type) = (b.Build(), StringType.Default);
                break;
            }
        }
        return (new Field(name, type, nullable || values.Any(v => v is null)), array);
    }

    public static RecordBatch Batch(params (Field Field, IArrowArray Array)[] columns)
    {
        var schema = new ArrowSchema(columns.Select(c => c.Field), null);
        return new RecordBatch(schema, columns.Select(c => c.Array), columns[0].Array.Length);
    }

    /// <summary>Which levels of <c>messages: list&lt;struct&lt;role, content, name, tool_calls&gt;&gt;</c> the writer makes optional.</summary>
    public sealed record MessagesLayout(bool ListNullable = true, bool ElementNullable = true, bool LeafNullable = true, bool ExtraFields = false);

    /// <summary>
    /// A <c>messages</c> column; a null row is a null list (the list must then be nullable). With <see cref="MessagesLayout.ExtraFields"/>,
    /// each turn also has <c>name</c> (string, mostly null) and <c>tool_calls</c> (list of strings), which readers must ignore.
    /// </summary>
    public static (Field Field, IArrowArray Array) MessagesColumn(IReadOnlyList<(string Role, string Content)[]?> rows, MessagesLayout layout)
    {
        var turns = rows.Where(r => r is not null).SelectMany(r => r!).ToList();
        var fields = new List<Field>
        {
            new("role", StringType.Default, layout.LeafNullable),
            new("content", StringType.Default, layout.LeafNullable),
        };
        var children = new List<IArrowArray>
        {
            new StringArray.Builder().AppendRange(turns.Select(t => t.Role)).Build(),
            new StringArray.Builder().AppendRange(turns.Select(t => t.Content)).Build(),
        };
        if (layout.ExtraFields)
        {
            var names = new StringArray.Builder();
            for (var i = 0; i < turns.Count; i++) if (i % 2 == 0) names.AppendNull(); else names.Append($"speaker{i}");
            fields.Add(new Field("name", StringType.Default, true));
            children.Add(names.Build());
            var callType = new ListType(new Field("element", StringType.Default, true));
            var calls = new StringArray.Builder().AppendRange(turns.Select((_, i) => $"call{i}")).Build();
            var callOffsets = new ArrowBuffer.Builder<int>().AppendRange(Enumerable.Range(0, turns.Count + 1)).Build();
            fields.Add(new Field("tool_calls", callType, true));
            children.Add(new ListArray(callType, turns.Count, callOffsets, calls, ArrowBuffer.Empty, 0));
        }
        var structType = new StructType(fields);
        var structs = new StructArray(structType, turns.Count, children, ArrowBuffer.Empty, 0);
        var listType = new ListType(new Field("element", structType, layout.ElementNullable));
        var offsets = new ArrowBuffer.Builder<int>();
        var validity = new ArrowBuffer.BitmapBuilder();
        var at = 0;
        offsets.Append(0);
        foreach (var row in rows)
        {
            at += row?.Length ?? 0;
            offsets.Append(at);
            validity.Append(row is not null);
        }
        var nulls = rows.Count(r => r is null);
        var list = new ListArray(listType, rows.Count, offsets.Build(), structs, nulls == 0 ? ArrowBuffer.Empty : validity.Build(), nulls);
        return (new Field("messages", listType, layout.ListNullable), list);
    }
}
