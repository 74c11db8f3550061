using MiniLlmPipeline.Data;
using MiniLlmPipeline.Tokenization;
using TorchSharp;
using static TorchSharp.torch;

namespace MiniLlmPipeline.Alignment;

/// <summary>
/// Turns preference examples into what the reward model and DPO train on: <see cref="Render(TextTokenizer, IReadOnlyList{PreferenceExample}, int)"/>
/// tokenizes each prompt + chosen and prompt + rejected as a ChatML conversation (user turn, assistant turn), and
/// <see cref="Collate"/> pads a list of pairs into one <see cref="PreferenceBatch"/>, chosen rows then rejected rows.
/// </summary>
public static class PreferenceCollator
{
    /// <summary>
    /// Every example as a <see cref="PreferencePair"/> cut to <paramref name="maxSeqLen"/> tokens. An example whose prompt
    /// leaves no response token inside the window is dropped (it has nothing to compare); one whose response runs past
    /// the window keeps its beginning (counted as truncated: its reward is read at the last token that fits).
    /// </summary>
    public static RenderedPreferences Render(TextTokenizer tokenizer, IReadOnlyList<PreferenceExample> examples, int maxSeqLen)
    {
        if (maxSeqLen < 2) throw new ArgumentOutOfRangeException(nameof(maxSeqLen), maxSeqLen, "a pair needs room for a prompt and a response token");
        var pairs = new List<PreferencePair>(examples.Count);
        int dropped = 0, truncated = 0;
        for (var row = 0; row < examples.Count; row++)
        {
            var example = examples[row];
            var (chosen, chosenCut) = RenderSide(tokenizer, example.Prompt, example.Chosen, maxSeqLen);
            var (rejected, rejectedCut) = RenderSide(tokenizer, example.Prompt, example.Rejected, maxSeqLen);
            if (chosen is null || rejected is null)
            {
                dropped++;
                continue;
            }
            if (chosenCut || rejectedCut) truncated++;
            pairs.Add(new PreferencePair(row, chosen, rejected));
        }
        return new RenderedPreferences(pairs, dropped, truncated);
    }

    /// <summary>A preference Parquet file rendered; a <see cref="DatasetException"/> when not one pair fits the window.</summary>
    public static RenderedPreferences Load(string path, TextTokenizer tokenizer, int maxSeqLen)
    {
        var examples = ParquetDatasets.ReadPreferences(path);
        var rendered = Render(tokenizer, examples, maxSeqLen);
        if (rendered.Pairs.Count == 0)
            throw new DatasetException($"{path}: none of its {examples.Count} pairs has a response token within max_seq_len {maxSeqLen} " +
                                       "(every prompt fills the context); shorten the prompts or raise model.max_seq_len");
        return rendered;
    }

    /// <summary>The pairs as one right-padded batch of 2B rows on <paramref name="device"/> (see <see cref="PreferenceBatch"/>).</summary>
    public static PreferenceBatch Collate(IReadOnlyList<PreferencePair> pairs, int padId, Device? device = null)
    {
        if (pairs.Count == 0) throw new ArgumentException("A batch needs at least one pair.", nameof(pairs));
        var rows = pairs.Select(p => p.Chosen).Concat(pairs.Select(p => p.Rejected)).ToList();
        var width = rows.Max(r => r.Ids.Length);
        var ids = new long[rows.Count * width];
        var mask = new float[rows.Count * width];
        var last = new long[rows.Count];
        Array.Fill(ids, padId);
        long tokens = 0;
        for (var i = 0; i < rows.Count; i++)
        {
            var row = rows[i];
            for (var t = 0; t < row.Ids.Length; t++)
            {
                ids[i * width + t] = row.Ids[t];
                mask[i * width + t] = row.LossMask[t] ? 1 : 0;
            }
            last[i] = row.Ids.Length - 1;
            tokens += row.Ids.Length;
        }
        var target = device ?? CPU;
        return new PreferenceBatch(
            tensor(ids, rows.Count, width).to(target), tensor(mask, rows.Count, width).to(target), tensor(last).to(target),
            pairs.Count, tokens);
    }

    /// <summary>
    /// One value per row of <c>pairs[indices[j]]</c>, computed without gradient by <paramref name="perRow"/> ((2B) from a batch)
    /// over batches of <paramref name="batchSize"/> pairs of similar length; entry j of the result belongs to
    /// <c>indices[j]</c>. Used for validation, reward statistics and DPO's cached reference log-probs.
    /// </summary>
    public static PairValues Map(IReadOnlyList<PreferencePair> pairs, IReadOnlyList<int> indices, int batchSize, int padId,
        Device device, Func<PreferenceBatch, Tensor> perRow)
    {
        var chosen = new float[indices.Count];
        var rejected = new float[indices.Count];
        // Sorting by length keeps padding small; the results go back to their caller's order.
        var order = Enumerable.Range(0, indices.Count).OrderBy(j => pairs[indices[j]].Length).ToArray();
        using var noGrad = torch.no_grad();
        foreach (var chunk in order.Chunk(Math.Max(1, batchSize)))
        {
            using var scope = NewDisposeScope();
            var batch = Collate(chunk.Select(j => pairs[indices[j]]).ToList(), padId, device);
            var values = perRow(batch).to(float32).cpu().data<float>().ToArray();
            for (var k = 0; k < chunk.Length; k++)
            {
                chosen[chunk[k]] = values[k];
                rejected[chunk[k]] = values[chunk.Length + k];
            }
        }
        return new PairValues(chosen, rejected);
    }

    /// <summary>prompt + response as a user/assistant conversation ending at the response's &lt;|im_end|&gt;; null when no response token fits.</summary>
    private static (TokenizedSequence? Sequence, bool Truncated) RenderSide(TextTokenizer tokenizer, string prompt, string response, int maxSeqLen)
    {
        var chat = ChatTemplate.Render(tokenizer, [new ConversationTurn("user", prompt), new ConversationTurn("assistant", response)]);
        // Keep through the last trained token (the assistant's <|im_end|>); the newline after it is never scored.
        var end = Array.LastIndexOf(chat.LossMask, true) + 1;
        var firstResponse = Array.IndexOf(chat.LossMask, true);
        if (firstResponse < 0 || firstResponse >= maxSeqLen) return (null, false);
        var length = Math.Min(end, maxSeqLen);
        return (new TokenizedSequence(chat.Ids[..length], chat.LossMask[..length]), end > maxSeqLen);
    }
}
