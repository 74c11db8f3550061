using System.Collections.Concurrent;
using System.Text;

namespace MiniLlmPipeline.Tokenization;

/// <summary>
/// Our own encoder for a <see cref="BpeModel"/>: the reference the Microsoft.ML.Tokenizers encoding is
/// checked against. Each pre-token's UTF-8 bytes are merged by rank — repeatedly the adjacent pair whose
/// merge was learned first, leftmost on ties — which is the order GPT-2 and ML.Tokenizers apply merges in.
/// Thread-safe.
/// </summary>
public sealed class BpeEncoder
{
    private readonly Dictionary<long, (int Rank, int Merged)> _merges = [];
    private readonly ConcurrentDictionary<string, int[]> _cache = new(StringComparer.Ordinal);

    public BpeEncoder(BpeModel model)
    {
        var ids = model.Tokens.Select((t, i) => (t, i)).ToDictionary(x => x.t, x => x.i, StringComparer.Ordinal);
        for (var rank = 0; rank < model.Merges.Count; rank++)
        {
            var (left, right) = model.Merges[rank];
            _merges.TryAdd(BpeTrainer.Key(left, right), (rank, ids[model.Tokens[left] + model.Tokens[right]]));
        }
    }

    public List<int> Encode(string text)
    {
        var ids = new List<int>();
        foreach (var (offset, length, isSpecial) in PreTokenSplitter.Split(text))
        {
            var piece = text.Substring(offset, length);
            if (isSpecial) ids.Add(SpecialTokens.IdOf(piece));
            else ids.AddRange(_cache.GetOrAdd(piece, MergeWord));
        }
        return ids;
    }

    private int[] MergeWord(string word)
    {
        var symbols = Encoding.UTF8.GetBytes(word).Select(b => (int)b).ToList();
        while (symbols.Count > 1)
        {
            int bestAt = -1, bestRank = int.MaxValue, bestMerged = 0;
            for (var i = 0; i + 1 < symbols.Count; i++)
                if (_merges.TryGetValue(BpeTrainer.Key(symbols[i], symbols[i + 1]), out var m) && m.Rank < bestRank)
                    (bestAt, bestRank, bestMerged) = (i, m.Rank, m.Merged);
            if (bestAt < 0) break;
            symbols[bestAt] = bestMerged;
            symbols.RemoveAt(bestAt + 1);
        }
        return [.. symbols];
    }
}
