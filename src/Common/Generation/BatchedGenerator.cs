using MiniLlmPipeline.Model;
using MiniLlmPipeline.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace MiniLlmPipeline.Generation;

/// <summary>
/// Batched autoregressive decoding with the KV cache: on the CPU through <see cref="CpuDecoder"/> (each row in its
/// own cache slot, rows that stopped leave the batch); elsewhere, and without the cache, through the torch model with
/// prompts LEFT-padded so every row's next token sits in the last column, the attention mask hiding the pads and
/// positions counting only real tokens. Either way a row decodes exactly as it would alone.
/// </summary>
public static class BatchedGenerator
{
    /// <summary>
    /// Completions (prompt excluded; the stop token included when one was produced). A row that has
    /// stopped is fed pads until every row stops or <see cref="SamplingSettings.MaxNewTokens"/> is
    /// reached. Prompts longer than max_seq_len − max_new_tokens keep their last tokens.
    /// <paramref name="useKvCache"/> false re-runs the whole sequence per token, <paramref name="useCpuDecoder"/> false
    /// decodes through the torch model on the CPU too (both for benchmarks and tests).
    /// </summary>
    public static IReadOnlyList<int[]> Generate(
        Gpt model, IReadOnlyList<int[]> prompts, SamplingSettings settings, int[] stopIds, int padId,
        torch.Generator? rng, bool useKvCache = true, bool useCpuDecoder = true)
    {
        if (prompts.Any(p => p.Length == 0)) throw new ArgumentException("every prompt needs at least one token", nameof(prompts));
        var maxSeqLen = model.Config.MaxSeqLen;
        var maxNew = Math.Min(settings.MaxNewTokens, maxSeqLen - 1);
        if (prompts.Count == 0 || maxNew <= 0) return prompts.Select(_ => Array.Empty<int>()).ToList();
        var trimmed = prompts.Select(p => FitPrompt(p, maxSeqLen, settings.MaxNewTokens)).ToList();

        using var noGrad = torch.no_grad();
        using var threads = TorchRuntime.ForDecoding();
        using var fp32 = MixedPrecision.Suspend();
        var device = model.parameters().First().device;
        return useKvCache && useCpuDecoder && device.type == DeviceType.CPU
            ? CpuDecoder.WithModel(model, TorchRuntime.DecodingThreads, trimmed.Count,
                (decoder, cache) => GenerateOnCpu(decoder, cache, trimmed, settings, maxNew, stopIds, rng))
            : GenerateWithTorch(model, trimmed, settings, maxNew, stopIds, padId, rng, useKvCache, device);
    }

    /// <summary>
    /// <see cref="Generate"/> through <see cref="CpuDecoder"/>: each prompt in its own cache slot (no padding),
    /// prefilled in one call, then one token per step for the rows still decoding only.
    /// <see cref="CpuSampler"/> draws, seeded from <paramref name="rng"/> (the global torch generator when null), so a
    /// seeded generator gives the same completions every time and successive calls on one generator differ.
    /// </summary>
    private static IReadOnlyList<int[]> GenerateOnCpu(
        CpuDecoder decoder, DecodeCache cache, IReadOnlyList<int[]> prompts, SamplingSettings settings, int maxNew, int[] stopIds, torch.Generator? rng)
    {
        var batch = prompts.Count;
        var vocab = decoder.Config.VocabSize;
        var logits = new float[batch * vocab];
        var slots = Enumerable.Range(0, batch).ToArray();
        var stops = stopIds.ToHashSet();
        var completions = Enumerable.Range(0, batch).Select(_ => new List<int>(maxNew)).ToArray();
        var finished = new bool[batch];
        decoder.Forward(cache, slots, prompts.SelectMany(p => p).ToArray(), prompts.Select(p => p.Length).ToArray(), logits);

        var (activeSlots, activeTokens, ones) = (new int[batch], new int[batch], Enumerable.Repeat(1, batch).ToArray());
        var activeLogits = new float[batch * vocab];
        var sampler = new CpuSampler(settings, settings.IsGreedy ? 0 : SeedFrom(rng));
        for (var step = 0; step < maxNew; step++)
        {
            var active = 0;
            for (var row = 0; row < batch; row++)
            {
                if (finished[row]) continue;
                var token = sampler.Next(logits.AsSpan(row * vocab, vocab), System.Runtime.InteropServices.CollectionsMarshal.AsSpan(completions[row]));
                completions[row].Add(token);
                if (stops.Contains(token)) finished[row] = true;
                else
                {
                    activeSlots[active] = row;
                    activeTokens[active++] = token;
                }
            }
            if (active == 0 || step == maxNew - 1) break;
            decoder.Forward(cache, activeSlots.AsSpan(0, active), activeTokens.AsSpan(0, active), ones.AsSpan(0, active), activeLogits);
            for (var i = 0; i < active; i++)
                activeLogits.AsSpan(i * vocab, vocab).CopyTo(logits.AsSpan(activeSlots[i] * vocab, vocab));
        }
        return completions.Select(c => c.ToArray()).ToList();
    }

    /// <summary>A seed drawn from the torch generator, which advances it.</summary>
    private static int SeedFrom(torch.Generator? rng)
    {
        using var scope = torch.NewDisposeScope();
        return (int)torch.randint(int.MaxValue, [1], generator: rng).item<long>();
    }

    private static IReadOnlyList<int[]> GenerateWithTorch(
        Gpt model, List<int[]> trimmed, SamplingSettings settings, int maxNew, int[] stopIds, int padId, torch.Generator? rng,
        bool useKvCache, Device device)
    {
        using var scope = torch.NewDisposeScope();
        var (ids, mask) = LeftPad(trimmed, padId, device);                // (B, P), (B, P) or null
        var batch = trimmed.Count;
        var stop = torch.tensor(stopIds.Select(i => (long)i).ToArray(), device: device);
        var pad = torch.tensor((long)padId, device: device);
        var finished = torch.zeros(batch, dtype: @bool, device: device); // (B)
        using var cache = useKvCache ? new KvCache(model.Config.NLayers, (int)ids.shape[1] + maxNew) : null;

        // With the cache the model sees only the newest token; without it, the whole sequence so far.
        var input = ids;
        var generated = new List<Tensor>();
        for (var step = 0; step < maxNew; step++)
        {
            using var stepScope = torch.NewDisposeScope();
            var hidden = model.HiddenStates(input, attentionMask: mask, cache: cache); // (B, T, C)
            var logits = model.Logits(hidden.select(1, -1));                        // (B, V)
            var active = finished.logical_not();                                     // (B) rows still decoding
            // The penalties count this call's tokens so far (not the prompt), so only they are passed.
            var previous = settings.HasPenalties && generated.Count > 0 ? torch.stack(generated, dim: 1) : null; // (B, step)
            var next = Sampler.Sample(logits, settings, rng, previous).where(active, pad); // (B)
            if (stopIds.Length > 0) finished = (finished | torch.isin(next, stop)).MoveToOuterDisposeScope();
            if (mask is not null) mask = torch.cat([mask, active.unsqueeze(1)], dim: 1).MoveToOuterDisposeScope();
            input = (useKvCache ? next.unsqueeze(1) : torch.cat([input, next.unsqueeze(1)], dim: 1)).MoveToOuterDisposeScope();
            generated.Add(next.MoveToOuterDisposeScope());
            // The one device→host sync per token: whether every row has stopped.
            if (stopIds.Length > 0 && finished.all().item<bool>()) break;
        }
        return Completions(torch.stack(generated, dim: 1), stopIds);
    }

    /// <summary>
    /// The prompt as <see cref="Generate"/> feeds it: a prompt too long to leave room for
    /// <paramref name="maxNewTokens"/> inside the context window keeps its last tokens (at least one).
    /// </summary>
    public static int[] FitPrompt(int[] prompt, int maxSeqLen, int maxNewTokens)
    {
        var room = Math.Max(1, maxSeqLen - maxNewTokens);
        return prompt.Length <= room ? prompt : prompt[^room..];
    }

    private static (Tensor Ids, Tensor? Mask) LeftPad(IReadOnlyList<int[]> prompts, int padId, Device device)
    {
        var length = prompts.Max(p => p.Length);
        var ids = new long[prompts.Count * length];
        var mask = new bool[prompts.Count * length];
        for (var row = 0; row < prompts.Count; row++)
        {
            var offset = row * length + length - prompts[row].Length;
            Array.Fill(ids, padId, row * length, length - prompts[row].Length);
            for (var i = 0; i < prompts[row].Length; i++)
            {
                ids[offset + i] = prompts[row][i];
                mask[offset + i] = true;
            }
        }
        var idTensor = torch.tensor(ids, [prompts.Count, length], device: device);
        // Without padding the mask is all true: leave it out so attention takes the causal fast path.
        var needsMask = prompts.Any(p => p.Length != length);
        return (idTensor, needsMask ? torch.tensor(mask, [prompts.Count, length], device: device) : null);
    }

    /// <summary>Each row's tokens up to and including its first stop token.</summary>
    private static List<int[]> Completions(Tensor tokens, int[] stopIds) // (B, N)
    {
        var (batch, length) = ((int)tokens.shape[0], (int)tokens.shape[1]);
        var flat = tokens.cpu().data<long>().ToArray();
        var stops = stopIds.ToHashSet();
        var result = new List<int[]>(batch);
        for (var row = 0; row < batch; row++)
        {
            var completion = new List<int>();
            for (var i = 0; i < length; i++)
            {
                var id = (int)flat[row * length + i];
                completion.Add(id);
                if (stops.Contains(id)) break;
            }
            result.Add(completion.ToArray());
        }
        return result;
    }
}
