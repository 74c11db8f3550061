using static TorchSharp.torch;

namespace MiniLlmPipeline.Rlhf;

/// <summary>
/// One PPO rollout as tensors: each row is a LEFT-padded prompt (P columns) followed by its sampled response,
/// RIGHT-padded to R columns (the stop token included when one was produced). Positions P−1 … P+R−2 of the
/// model's output predict the response tokens, which is where log-probs and values are read.
/// </summary>
public sealed class RolloutBatch : IDisposable
{
    private RolloutBatch(IReadOnlyList<int> promptIndices, IReadOnlyList<int> promptLengths, IReadOnlyList<int[]> responses, int promptLength,
        Tensor ids, Tensor attentionMask, Tensor responseIds, Tensor responseMask, Tensor lastTokenIndex)
    {
        PromptIndices = promptIndices;
        PromptLengths = promptLengths;
        Responses = responses;
        PromptLength = promptLength;
        Ids = ids;
        AttentionMask = attentionMask;
        ResponseIds = responseIds;
        ResponseMask = responseMask;
        LastTokenIndex = lastTokenIndex;
    }

    /// <summary>Which prompt of the prompt set each row answers.</summary>
    public IReadOnlyList<int> PromptIndices { get; }
    /// <summary>Each row's prompt length (unpadded).</summary>
    public IReadOnlyList<int> PromptLengths { get; }
    /// <summary>Each row's response ids (unpadded).</summary>
    public IReadOnlyList<int[]> Responses { get; }
    /// <summary>P: the padded prompt width.</summary>
    public int PromptLength { get; }
    /// <summary>R: the padded response width.</summary>
    public int ResponseLength => (int)ResponseIds.shape[1];
    public int Rows => Responses.Count;
    /// <summary>(B, P + R) int64 prompt + response, pads where the mask is false.</summary>
    public Tensor Ids { get; }
    /// <summary>(B, P + R) bool, true on real tokens.</summary>
    public Tensor AttentionMask { get; }
    /// <summary>(B, R) int64 response tokens (pad id after each row's end).</summary>
    public Tensor ResponseIds { get; }
    /// <summary>(B, R) bool, true on real response tokens.</summary>
    public Tensor ResponseMask { get; }
    /// <summary>(B) int64 column of each row's last real token in <see cref="Ids"/> (where a reward model reads its score).</summary>
    public Tensor LastTokenIndex { get; }

    /// <summary>Pads and stacks prompts and responses; the tensors live until <see cref="Dispose"/>, outside any dispose scope.</summary>
    public static RolloutBatch Build(IReadOnlyList<int> promptIndices, IReadOnlyList<int[]> prompts, IReadOnlyList<int[]> responses,
        int padId, Device device)
    {
        if (prompts.Count != responses.Count || prompts.Count != promptIndices.Count)
            throw new ArgumentException("prompt indices, prompts and responses must have one entry per row");
        if (responses.Any(r => r.Length == 0)) throw new ArgumentException("every response needs at least one token", nameof(responses));
        var (rows, p, r) = (prompts.Count, prompts.Max(x => x.Length), responses.Max(x => x.Length));
        var ids = new long[rows * (p + r)];
        var mask = new bool[rows * (p + r)];
        var last = new long[rows];
        Array.Fill(ids, padId);
        for (var row = 0; row < rows; row++)
        {
            var offset = row * (p + r);
            var prompt = prompts[row];
            for (var i = 0; i < prompt.Length; i++)
            {
                ids[offset + p - prompt.Length + i] = prompt[i];
                mask[offset + p - prompt.Length + i] = true;
            }
            for (var i = 0; i < responses[row].Length; i++)
            {
                ids[offset + p + i] = responses[row][i];
                mask[offset + p + i] = true;
            }
            last[row] = p + responses[row].Length - 1;
        }
        using var scope = NewDisposeScope();
        var idTensor = tensor(ids, [rows, p + r], device: device);
        var maskTensor = tensor(mask, [rows, p + r], device: device);
        return new RolloutBatch(promptIndices, prompts.Select(x => x.Length).ToArray(), responses, p,
            idTensor.DetachFromDisposeScope(), maskTensor.DetachFromDisposeScope(),
            idTensor.narrow(1, p, r).contiguous().DetachFromDisposeScope(),
            maskTensor.narrow(1, p, r).contiguous().DetachFromDisposeScope(),
            tensor(last, device: device).DetachFromDisposeScope());
    }

    /// <summary>
    /// <paramref name="rows"/> of the batch, cut to the widest prompt and the longest response among them: the columns
    /// dropped are padding in every one of those rows, so what a model computes on the real tokens is unchanged (a
    /// token's position counts the real tokens before it), and a mini-batch of short answers costs what they are long.
    /// </summary>
    public RolloutRows Select(IReadOnlyList<int> rows)
    {
        var promptWidth = rows.Max(r => PromptLengths[r]);
        var responseWidth = rows.Max(r => Responses[r].Length);
        var index = tensor(rows.Select(r => (long)r).ToArray(), device: Ids.device);
        var columns = PromptLength - promptWidth;
        return new RolloutRows(index, promptWidth, responseWidth,
            Ids.index_select(0, index).narrow(1, columns, promptWidth + responseWidth),
            AttentionMask.index_select(0, index).narrow(1, columns, promptWidth + responseWidth),
            ResponseIds.index_select(0, index).narrow(1, 0, responseWidth),
            ResponseMask.index_select(0, index).narrow(1, 0, responseWidth));
    }

    public void Dispose()
    {
        Ids.Dispose();
        AttentionMask.Dispose();
        ResponseIds.Dispose();
        ResponseMask.Dispose();
        LastTokenIndex.Dispose();
    }
}
