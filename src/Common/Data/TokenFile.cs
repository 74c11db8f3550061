using System.Buffers.Binary;
using System.IO.MemoryMappedFiles;
using System.Text;
using MiniLlmPipeline.IO;
using MiniLlmPipeline.Pipeline;

namespace MiniLlmPipeline.Data;

/// <summary>
/// A tokenized corpus as one flat file of token ids (the tokenize stage's output, read by pretraining),
/// memory-mapped so a corpus of any size streams without being loaded. Documents are separated by the
/// end-of-text token. Layout (little-endian), a 24-byte header then the ids:
/// <code>
///   0  "MLPTOKv1"            magic
///   8  int32  bytes per id    2 (uint16, vocab ≤ 65536) or 4 (uint32)
///  12  int32  vocab size      so a reader can check it against the model
///  16  int64  token count
///  24  ids…
/// </code>
/// </summary>
public sealed class TokenFile : ITokenSequence, IDisposable
{
    private static readonly byte[] Magic = Encoding.ASCII.GetBytes("MLPTOKv1");
    public const int HeaderBytes = 24;

    private readonly MemoryMappedFile _map;
    private readonly MemoryMappedViewAccessor _view;
    private readonly int _width;

    public string Path { get; }
    public int VocabSize { get; }
    public long Count { get; }

    private TokenFile(string path, MemoryMappedFile map, MemoryMappedViewAccessor view, int width, int vocabSize, long count)
    {
        Path = path;
        _map = map;
        _view = view;
        _width = width;
        VocabSize = vocabSize;
        Count = count;
    }

    /// <summary>Writes <paramref name="ids"/> atomically (temp file + rename), in uint16 when the vocabulary allows.</summary>
    public static void Write(string path, IReadOnlyList<int> ids, int vocabSize) =>
        Write(path, vocabSize, append =>
        {
            var chunk = new int[64 * 1024];
            for (var start = 0; start < ids.Count; start += chunk.Length)
            {
                var n = Math.Min(chunk.Length, ids.Count - start);
                for (var i = 0; i < n; i++) chunk[i] = ids[start + i];
                append(chunk.AsSpan(0, n));
            }
        });

    /// <summary>
    /// Streams ids into a token file atomically: <paramref name="produce"/> calls its argument with each chunk of ids in
    /// order; the header's count is filled in at the end, and the file only takes <paramref name="path"/>'s place once
    /// <paramref name="produce"/> has returned, so a failure part-way leaves no file that looks complete.
    /// Returns the number of ids written.
    /// </summary>
    public static long Write(string path, int vocabSize, Action<TokenChunkWriter> produce)
    {
        var width = vocabSize <= 65536 ? 2 : 4;
        long count = 0;
        AtomicFile.Write(path, stream =>
        {
            var header = new byte[HeaderBytes];
            Magic.CopyTo(header, 0);
            BinaryPrimitives.WriteInt32LittleEndian(header.AsSpan(8), width);
            BinaryPrimitives.WriteInt32LittleEndian(header.AsSpan(12), vocabSize);
            stream.Write(header);
            var buffer = new byte[64 * 1024 * width];
            var filled = 0;
            produce(ids =>
            {
                foreach (var id in ids)
                {
                    if ((uint)id >= (uint)vocabSize)
                        throw new ArgumentOutOfRangeException(nameof(ids), $"token id {id} is outside the vocabulary (size {vocabSize})");
                    if (width == 2) BinaryPrimitives.WriteUInt16LittleEndian(buffer.AsSpan(filled), (ushort)id);
                    else BinaryPrimitives.WriteInt32LittleEndian(buffer.AsSpan(filled), id);
                    filled += width;
                    if (filled == buffer.Length)
                    {
                        stream.Write(buffer, 0, filled);
                        filled = 0;
                    }
                }
                count += ids.Length;
            });
            stream.Write(buffer, 0, filled);
            BinaryPrimitives.WriteInt64LittleEndian(header.AsSpan(16), count);
            stream.Position = 16;
            stream.Write(header, 16, 8);
        });
        return count;
    }

    public static TokenFile Open(string path)
    {
        if (!File.Exists(path)) throw new DatasetException($"{path}: token file not found");
        var length = new FileInfo(path).Length;
        if (length < HeaderBytes) throw new DatasetException($"{path}: not a token file (shorter than its {HeaderBytes}-byte header)");
        var map = MemoryMappedFile.CreateFromFile(path, FileMode.Open, null, 0, MemoryMappedFileAccess.Read);
        var view = map.CreateViewAccessor(0, 0, MemoryMappedFileAccess.Read);
        try
        {
            var header = new byte[HeaderBytes];
            view.ReadArray(0, header, 0, HeaderBytes);
            if (!header.AsSpan(0, 8).SequenceEqual(Magic)) throw new DatasetException($"{path}: not a token file (bad magic)");
            var width = BinaryPrimitives.ReadInt32LittleEndian(header.AsSpan(8));
            var vocab = BinaryPrimitives.ReadInt32LittleEndian(header.AsSpan(12));
            var count = BinaryPrimitives.ReadInt64LittleEndian(header.AsSpan(16));
            if (width is not (2 or 4) || vocab <= 0 || count < 0 || HeaderBytes + count * width > length)
                throw new DatasetException($"{path}: token file header is corrupt (width {width}, vocab {vocab}, count {count}, {length} bytes)");
            return new TokenFile(path, map, view, width, vocab, count);
        }
        catch
        {
            view.Dispose();
            map.Dispose();
            throw;
        }
    }

    /// <summary>Copies ids [start, start + destination.Length) into <paramref name="destination"/>.</summary>
    public void Read(long start, Span<long> destination)
    {
        if (start < 0 || start + destination.Length > Count)
            throw new ArgumentOutOfRangeException(nameof(start), $"window [{start}, {start + destination.Length}) is outside 0..{Count}");
        var offset = HeaderBytes + start * _width;
        if (_width == 2)
            for (var i = 0; i < destination.Length; i++) destination[i] = _view.ReadUInt16(offset + 2L * i);
        else
            for (var i = 0; i < destination.Length; i++) destination[i] = _view.ReadInt32(offset + 4L * i);
    }

    public void Dispose()
    {
        _view.Dispose();
        _map.Dispose();
    }
}
