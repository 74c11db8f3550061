namespace MiniLlmPipeline.Tokenization;

/// <summary>
/// The tokenize stage's output contract, read by pretraining (and eval, the bench, the tests) from that stage's folder:
/// <c>tokenizer/</c>, <c>train.bin</c>, <c>val.bin</c> (only with <c>val_data</c>); documents in a token file are
/// separated by <c>&lt;|endoftext|&gt;</c>, as <see cref="EncodeDocuments"/> writes them.
/// </summary>
public static class TokenizedCorpus
{
    public const string TokenizerDir = "tokenizer";
    public const string TrainFile = "train.bin";
    public const string ValFile = "val.bin";

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
}
