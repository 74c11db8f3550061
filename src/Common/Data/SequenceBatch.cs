using static TorchSharp.torch;

namespace MiniLlmPipeline.Data;

/// <summary>
/// A right-padded next-token batch: <see cref="InputIds"/> (B, T) int64 = ids[0..L−1), <see cref="Targets"/> (B, T)
/// int64 = ids[1..L) and <see cref="LossMask"/> (B, T) float32, 1 where the target token is trained on. Padding holds
/// the pad id in both id tensors (a valid index for gathers) and 0 in the mask; <see cref="Lengths"/> is each row's
/// number of real input positions. T is the longest row, at most the max length.
/// </summary>
public sealed record SequenceBatch(Tensor InputIds, Tensor Targets, Tensor LossMask, int[] Lengths) : IDisposable
{
    /// <summary>
    /// Collates <paramref name="sequences"/>. A sequence longer than <paramref name="maxLength"/> + 1 tokens keeps its
    /// first tokens (the prompt end: truncating the prompt would change the question being answered) and loses its tail.
    /// Throws <see cref="DatasetException"/> naming the example when one has fewer than two tokens or no trained target
    /// left after truncation, since such an example would silently contribute nothing; filter with
    /// <see cref="HasTrainedTargets"/> first to skip them instead.
    /// </summary>
    public static SequenceBatch Build(IReadOnlyList<TokenizedSequence> sequences, int padId, int maxLength, Device? device = null)
    {
        if (sequences.Count == 0) throw new ArgumentException("A batch needs at least one sequence.", nameof(sequences));
        if (maxLength < 1) throw new ArgumentOutOfRangeException(nameof(maxLength), maxLength, "must be positive");
        var lengths = new int[sequences.Count];
        for (var i = 0; i < sequences.Count; i++)
        {
            var sequence = sequences[i];
            if (sequence.Ids.Length != sequence.LossMask.Length)
                throw new ArgumentException($"Example {i}: {sequence.Ids.Length} ids but {sequence.LossMask.Length} loss-mask entries.");
            if (!HasTrainedTargets(sequence, maxLength))
                throw new DatasetException(sequence.Ids.Length < 2
                    ? $"Example {i} has {sequence.Ids.Length} token(s); a training sequence needs at least 2."
                    : $"Example {i} has no trained token within the first {maxLength + 1} of its {sequence.Ids.Length} tokens " +
                      $"(its prompt fills the max length {maxLength}); shorten the prompt or raise max_seq_len.");
            lengths[i] = Math.Min(sequence.Ids.Length, maxLength + 1) - 1;
        }

        var steps = lengths.Max();
        var inputs = new long[sequences.Count * steps];
        var targets = new long[sequences.Count * steps];
        var mask = new float[sequences.Count * steps];
        Array.Fill(inputs, padId);
        Array.Fill(targets, padId);
        for (var i = 0; i < sequences.Count; i++)
        {
            var (ids, lossMask) = (sequences[i].Ids, sequences[i].LossMask);
            for (var t = 0; t < lengths[i]; t++)
            {
                inputs[i * steps + t] = ids[t];
                targets[i * steps + t] = ids[t + 1];
                mask[i * steps + t] = lossMask[t + 1] ? 1 : 0;
            }
        }
        var target = device ?? CPU;
        return new SequenceBatch(
            tensor(inputs, sequences.Count, steps).to(target),
            tensor(targets, sequences.Count, steps).to(target),
            tensor(mask, sequences.Count, steps).to(target),
            lengths);
    }

    /// <summary>Whether a sequence, truncated to <paramref name="maxLength"/> inputs, still has at least one trained target token.</summary>
    public static bool HasTrainedTargets(TokenizedSequence sequence, int maxLength)
    {
        var end = Math.Min(sequence.Ids.Length, maxLength + 1);
        for (var t = 1; t < end; t++)
            if (sequence.LossMask[t]) return true;
        return false;
    }

    /// <summary>Total trained target tokens in the batch (for throughput and loss weighting).</summary>
    public long TrainedTokens => (long)LossMask.sum().item<float>();

    public void Dispose()
    {
        InputIds.Dispose();
        Targets.Dispose();
        LossMask.Dispose();
    }
}
