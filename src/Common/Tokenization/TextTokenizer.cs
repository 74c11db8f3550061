using Microsoft.ML.Tokenizers;

namespace MiniLlmPipeline.Tokenization;

/// <summary>
/// The tokenizer every stage uses: a tokenizer folder (<see cref="BpeModel"/> files) loaded into
/// Microsoft.ML.Tokenizers' <see cref="BpeTokenizer"/> in byte-level mode, with our
/// <see cref="PreTokenSplitter"/> pattern and the special tokens registered so they are matched whole
/// before pre-tokenization and never split. Any UTF-8 text encodes without an unknown token. Thread-safe.
/// </summary>
public sealed class TextTokenizer
{
    private readonly BpeTokenizer _bpe;

    public BpeModel Model { get; }
    public int VocabSize => Model.VocabSize;
    public int EndOfTextId => SpecialTokens.IdOf(SpecialTokens.EndOfText);
    public int ImStartId => SpecialTokens.IdOf(SpecialTokens.ImStart);
    public int ImEndId => SpecialTokens.IdOf(SpecialTokens.ImEnd);
    public int PadId => SpecialTokens.IdOf(SpecialTokens.Pad);

    private TextTokenizer(BpeModel model)
    {
        Model = model;
        var specials = SpecialTokens.All.Select((t, i) => (t, i)).ToDictionary(x => x.t, x => SpecialTokens.FirstId + x.i);
        var options = new BpeOptions(model.Tokens.Select((t, id) => KeyValuePair.Create(t, id)))
        {
            Merges = model.Merges.Select(m => model.Tokens[m.Left] + " " + model.Tokens[m.Right]),
            SpecialTokens = specials,
            PreTokenizer = new RegexPreTokenizer(PreTokenSplitter.Regex, specials),
            ByteLevel = true,
        };
        _bpe = BpeTokenizer.Create(options);
    }

    /// <summary>Loads <c>vocab.json</c>, <c>merges.txt</c> and <c>tokenizer_config.json</c> from a tokenizer folder.</summary>
    public static TextTokenizer Load(string tokenizerDir) => new(BpeModel.Load(tokenizerDir));

    public static TextTokenizer FromModel(BpeModel model) => new(model);

    public IReadOnlyList<int> Encode(string text) => _bpe.EncodeToIds(text);

    /// <summary>
    /// Text of <paramref name="ids"/>; special tokens appear as their text unless <paramref name="skipSpecialTokens"/>.
    /// Bytes that do not form valid UTF-8 (a sampled sequence cut mid-character) become U+FFFD.
    /// </summary>
    public string Decode(IEnumerable<int> ids, bool skipSpecialTokens = false)
    {
        var list = ids as IReadOnlyCollection<int> ?? [.. ids];
        foreach (var id in list)
            if ((uint)id >= (uint)VocabSize) throw new ArgumentOutOfRangeException(nameof(ids), $"token id {id} is outside the vocabulary (size {VocabSize})");
        return _bpe.Decode(list, considerSpecialTokens: !skipSpecialTokens);
    }
}
