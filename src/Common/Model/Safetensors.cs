using System.Buffers.Binary;
using System.Text;
using System.Text.Json;
using MiniLlmPipeline.IO;
using TorchSharp;
using static TorchSharp.torch;

namespace MiniLlmPipeline.Model;

/// <summary>
/// The safetensors format (huggingface/safetensors): an 8-byte little-endian header length N, N bytes
/// of JSON (<c>__metadata__</c> then, per tensor, dtype, shape and [begin, end) byte offsets into the
/// data), padded with spaces to a multiple of 8, then the raw little-endian tensor bytes back to back.
/// Tensors are written in name order, so the same weights always give the same file.
/// </summary>
public static class Safetensors
{
    private static readonly Dictionary<ScalarType, string> DtypeNames = new()
    {
        [ScalarType.Float32] = "F32", [ScalarType.BFloat16] = "BF16", [ScalarType.Float16] = "F16",
        [ScalarType.Float64] = "F64", [ScalarType.Int64] = "I64", [ScalarType.Int32] = "I32",
        [ScalarType.Int16] = "I16", [ScalarType.Int8] = "I8", [ScalarType.Byte] = "U8", [ScalarType.Bool] = "BOOL",
    };

    private static readonly Dictionary<string, ScalarType> DtypesByName = DtypeNames.ToDictionary(kv => kv.Value, kv => kv.Key);

    /// <summary>Writes <paramref name="tensors"/> atomically, converted to <paramref name="dtype"/> when given.</summary>
    public static void Save(string path, IReadOnlyDictionary<string, Tensor> tensors, ScalarType? dtype = null) =>
        AtomicFile.Write(path, stream => Write(stream, tensors, dtype));

    public static void Write(Stream stream, IReadOnlyDictionary<string, Tensor> tensors, ScalarType? dtype = null)
    {
        if (!BitConverter.IsLittleEndian) throw new PlatformNotSupportedException("safetensors data is little-endian");
        using var scope = torch.NewDisposeScope();
        var ordered = tensors.OrderBy(kv => kv.Key, StringComparer.Ordinal)
            .Select(kv => (Name: kv.Key, Tensor: kv.Value.detach().to(dtype ?? kv.Value.dtype).cpu().contiguous()))
            .ToList();

        var json = new MemoryStream();
        using (var writer = new Utf8JsonWriter(json))
        {
            writer.WriteStartObject();
            writer.WriteStartObject("__metadata__");
            writer.WriteString("format", "pt");
            writer.WriteEndObject();
            long offset = 0;
            foreach (var (name, tensor) in ordered)
            {
                var length = tensor.NumberOfElements * tensor.ElementSize;
                writer.WriteStartObject(name);
                writer.WriteString("dtype", DtypeName(tensor.dtype));
                writer.WriteStartArray("shape");
                foreach (var size in tensor.shape) writer.WriteNumberValue(size);
                writer.WriteEndArray();
                writer.WriteStartArray("data_offsets");
                writer.WriteNumberValue(offset);
                writer.WriteNumberValue(offset + length);
                writer.WriteEndArray();
                writer.WriteEndObject();
                offset += length;
            }
            writer.WriteEndObject();
        }
        var header = json.ToArray();
        var padded = (header.Length + 7) / 8 * 8;
        Span<byte> prefix = stackalloc byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(prefix, (ulong)padded);
        stream.Write(prefix);
        stream.Write(header);
        for (var i = header.Length; i < padded; i++) stream.WriteByte((byte)' ');
        foreach (var (_, tensor) in ordered) stream.Write(tensor.bytes);
    }

    /// <summary>Reads every tensor of a safetensors file onto the CPU; a malformed file is a <see cref="StageInputException"/>.</summary>
    public static Dictionary<string, Tensor> Load(string path)
    {
        if (!File.Exists(path)) throw new StageInputException($"{path}: file not found");
        var bytes = File.ReadAllBytes(path);
        try
        {
            return Parse(bytes);
        }
        catch (Exception e) when (e is FormatException or JsonException or InvalidOperationException or KeyNotFoundException)
        {
            throw new StageInputException($"{path}: not a valid safetensors file ({e.Message})");
        }
    }

    private static Dictionary<string, Tensor> Parse(byte[] bytes)
    {
        if (bytes.Length < 8) throw new FormatException("shorter than the 8-byte header length");
        var headerLength = BinaryPrimitives.ReadUInt64LittleEndian(bytes);
        if (headerLength > (ulong)(bytes.Length - 8)) throw new FormatException($"header length {headerLength} exceeds the file");
        var dataStart = 8 + (int)headerLength;
        using var header = JsonDocument.Parse(Encoding.UTF8.GetString(bytes, 8, (int)headerLength).TrimEnd(' '));
        var result = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        foreach (var entry in header.RootElement.EnumerateObject())
        {
            if (entry.Name == "__metadata__") continue;
            var dtypeName = entry.Value.GetProperty("dtype").GetString();
            if (!DtypesByName.TryGetValue(dtypeName ?? "", out var dtype))
                throw new FormatException($"tensor {entry.Name}: unsupported dtype {dtypeName}");
            var shape = entry.Value.GetProperty("shape").EnumerateArray().Select(e => e.GetInt64()).ToArray();
            var offsets = entry.Value.GetProperty("data_offsets").EnumerateArray().Select(e => e.GetInt64()).ToArray();
            var tensor = torch.empty(shape, dtype).DetachFromDisposeScope();
            var expected = tensor.NumberOfElements * tensor.ElementSize;
            if (offsets.Length != 2 || offsets[1] - offsets[0] != expected || dataStart + offsets[1] > bytes.Length)
            {
                tensor.Dispose();
                throw new FormatException($"tensor {entry.Name}: data_offsets [{string.Join(", ", offsets)}] do not hold {expected} bytes");
            }
            tensor.bytes = bytes.AsSpan(dataStart + (int)offsets[0], (int)expected);
            result[entry.Name] = tensor;
        }
        return result;
    }

    private static string DtypeName(ScalarType dtype) =>
        DtypeNames.TryGetValue(dtype, out var name) ? name : throw new NotSupportedException($"safetensors has no dtype for {dtype}");
}
