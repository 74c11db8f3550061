using System.Text;

namespace MiniLlmPipeline.Stages.Export;

/// <summary>
/// A GGUF v3 file (the llama.cpp model format, ggml's docs/gguf.md): header, typed key–value metadata,
/// tensor infos, then each tensor's bytes at a 32-byte aligned offset. Little-endian throughout, as
/// llama.cpp reads it on x86 and ARM. Holds everything in memory and writes once (our models are small).
/// </summary>
public sealed class GgufWriter
{
    private const uint Magic = 0x46554747; // "GGUF" read as a little-endian uint32
    private const uint Version = 3;
    public const int Alignment = 32;       // general.alignment's default; we do not write the key

    private readonly List<(string Key, GgufValueType Type, Action<BinaryWriter> Write)> _metadata = [];
    private readonly List<(string Name, long[] Shape, GgmlType Type, byte[] Data)> _tensors = [];

    public void Add(string key, string value) => AddValue(key, GgufValueType.String, w => WriteString(w, value));
    public void Add(string key, uint value) => AddValue(key, GgufValueType.UInt32, w => w.Write(value));
    public void Add(string key, float value) => AddValue(key, GgufValueType.Float32, w => w.Write(value));
    public void Add(string key, bool value) => AddValue(key, GgufValueType.Bool, w => w.Write((byte)(value ? 1 : 0)));

    public void Add(string key, IReadOnlyList<string> values) => AddValue(key, GgufValueType.Array, w =>
    {
        w.Write((uint)GgufValueType.String);
        w.Write((ulong)values.Count);
        foreach (var value in values) WriteString(w, value);
    });

    public void Add(string key, IReadOnlyList<int> values) => AddValue(key, GgufValueType.Array, w =>
    {
        w.Write((uint)GgufValueType.Int32);
        w.Write((ulong)values.Count);
        foreach (var value in values) w.Write(value);
    });

    /// <summary>
    /// A tensor with its PyTorch shape (outermost first); GGUF stores the dimensions innermost first
    /// (ggml's ne[0] = row length), so a (out, in) weight becomes ne = [in, out] with the same bytes.
    /// </summary>
    public void AddTensor(string name, long[] shape, GgmlType type, byte[] data)
    {
        if (_tensors.Any(t => t.Name == name)) throw new ArgumentException($"tensor {name} added twice", nameof(name));
        _tensors.Add((name, shape, type, data));
    }

    public IReadOnlyList<(string Name, GgmlType Type)> Tensors => _tensors.Select(t => (t.Name, t.Type)).ToList();

    public void Write(Stream stream)
    {
        using var w = new BinaryWriter(stream, Encoding.UTF8, leaveOpen: true);
        w.Write(Magic);
        w.Write(Version);
        w.Write((ulong)_tensors.Count);
        w.Write((ulong)_metadata.Count);
        foreach (var (key, type, write) in _metadata)
        {
            WriteString(w, key);
            w.Write((uint)type);
            write(w);
        }
        ulong offset = 0;
        foreach (var (name, shape, type, data) in _tensors)
        {
            WriteString(w, name);
            w.Write((uint)shape.Length);
            for (var i = shape.Length - 1; i >= 0; i--) w.Write((ulong)shape[i]);
            w.Write((uint)type);
            w.Write(offset);
            offset += Padded((ulong)data.Length);
        }
        w.Flush();
        Pad(w, stream.Position);
        foreach (var (_, _, _, data) in _tensors)
        {
            w.Write(data);
            Pad(w, data.Length);
        }
        w.Flush();
    }

    private void AddValue(string key, GgufValueType type, Action<BinaryWriter> write)
    {
        if (_metadata.Any(m => m.Key == key)) throw new ArgumentException($"metadata key {key} added twice", nameof(key));
        _metadata.Add((key, type, write));
    }

    private static void WriteString(BinaryWriter w, string value)
    {
        var bytes = Encoding.UTF8.GetBytes(value);
        w.Write((ulong)bytes.Length);
        w.Write(bytes);
    }

    private static ulong Padded(ulong length) => (length + Alignment - 1) / Alignment * Alignment;

    private static void Pad(BinaryWriter w, long written)
    {
        var padding = (int)(Padded((ulong)written) - (ulong)written);
        for (var i = 0; i < padding; i++) w.Write((byte)0);
    }
}

/// <summary>GGUF metadata value types (gguf.md, <c>gguf_metadata_value_type</c>).</summary>
public enum GgufValueType : uint
{
    UInt8 = 0, Int8 = 1, UInt16 = 2, Int16 = 3, UInt32 = 4, Int32 = 5, Float32 = 6, Bool = 7, String = 8, Array = 9,
    UInt64 = 10, Int64 = 11, Float64 = 12,
}

/// <summary>The ggml tensor types we write (ggml.h, <c>enum ggml_type</c>).</summary>
public enum GgmlType : uint
{
    F32 = 0,
    F16 = 1,
    Q8_0 = 8,
}
