using System.Runtime.InteropServices;
using System.Text;
using MiniLlmPipeline.Data;

namespace MiniLlmPipeline.Tokenization;

/// <summary>
/// The tokenize stage's output contract, read by pretraining (and eval, the bench, the tests) from that stage's folder:
/// <c>tokenizer/</c>, <c>train.bin</c>, <c>val.bin</c> (only with <c>val_data</c>); documents in a token file are
/// separated by <c>&lt;|endoftext|&gt;</c>, as <see cref="EncodeDocuments"/> and <see cref="EncodeToFile"/> write them.
/// </summary>
public static class TokenizedCorpus
{
    public const string TokenizerDir = "tokenizer";
    public const string TrainFile = "train.bin";
    public const string ValFile = "val.bin";

    /// <summary>
    /// Documents encoded in parallel per chunk: enough work per chunk to keep the cores busy, small enough that a chunk's
    /// ids (a few MB) are all the encoder holds besides the row group being read.
    /// </summary>
    private const int ChunkDocuments = 2048;

    /// <summary>All documents' ids in order, each followed by <c>&lt;|endoftext|&gt;</c>; documents are encoded in parallel.</summary>
    public static List<int> EncodeDocuments(TextTokenizer tokenizer, IReadOnlyList<string> documents)
    {
        var encoded = new IReadOnlyList<int>[documents.Count];
        Parallel.For(0, documents.Count, d => encoded[d] = tokenizer.Encode(documents[d]));
        var ids = new List<int>(encoded.Sum(e => e.Count + 1));
        foreach (var document in encoded)
        {
            ids.AddRange(document);
            ids.Add(tokenizer.EndOfTextId);
        }
        return ids;
    }

    /// <summary>
    /// The same ids as <see cref="EncodeDocuments"/> over all row groups, streamed into the token file at <paramref name="path"/>
    /// (written atomically) chunk by chunk, so memory holds one row group and one chunk's ids whatever the corpus size.
    /// </summary>
    public static EncodedCorpus EncodeToFile(TextTokenizer tokenizer, IEnumerable<string[]> rowGroups, string path)
    {
        long documents = 0, utf8Bytes = 0, codePoints = 0;
        var tokens = TokenFile.Write(path, tokenizer.VocabSize, append =>
        {
            var ids = new List<int>();
            foreach (var group in rowGroups)
            {
                for (var start = 0; start < group.Length; start += ChunkDocuments)
                {
                    var n = Math.Min(ChunkDocuments, group.Length - start);
                    var encoded = new IReadOnlyList<int>[n];
                    var bytes = new long[n];
                    var chars = new long[n];
                    Parallel.For(0, n, d =>
                    {
                        var text = group[start + d];
                        encoded[d] = tokenizer.Encode(text);
                        bytes[d] = Encoding.UTF8.GetByteCount(text);
                        chars[d] = text.EnumerateRunes().Count();   // code points, not UTF-16 units
                    });
                    ids.Clear();
                    foreach (var document in encoded)
                    {
                        ids.AddRange(document);
                        ids.Add(tokenizer.EndOfTextId);
                    }
                    append(CollectionsMarshal.AsSpan(ids));
                    documents += n;
                    utf8Bytes += bytes.Sum();
                    codePoints += chars.Sum();
                }
            }
        });
        return new EncodedCorpus(documents, tokens, utf8Bytes, codePoints);
    }
}

/// <summary>What <see cref="TokenizedCorpus.EncodeToFile"/> wrote: ids include one end-of-text per document.</summary>
public sealed record EncodedCorpus(long Documents, long Tokens, long Utf8Bytes, long CodePoints)
{
    public long TextTokens => Tokens - Documents;
}
