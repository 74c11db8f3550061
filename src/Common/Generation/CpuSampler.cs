using System.Numerics.Tensors;

namespace MiniLlmPipeline.Generation;

/// <summary>
/// <see cref="Sampler"/>'s rule on host logits, for the CPU decoder: the penalties on the tokens generated so far
/// first (CTRL's repetition penalty, OpenAI's frequency and presence penalties, as <see cref="Sampler.Penalize"/>),
/// then argmax when greedy, else softmax(logits / T) restricted to the top-k tokens (ties at the k-th kept, as
/// there), to the top-p nucleus (a token is kept while the tokens ranked above it hold less than p) and to the
/// min-p floor (p ≥ min_p · p_max), renormalised, one draw. The nucleus is found by sorting only
/// the tokens above a small probability: when those already hold p, no token below them can enter it; only a flat
/// distribution falls back to sorting the whole vocabulary. Sampling through libtorch cost ~0.3 ms per row per token
/// (a full sort), more than the decoding step itself.
/// </summary>
public sealed class CpuSampler
{
    private const float CandidateFloor = 1e-4f;
    private readonly SamplingSettings _settings;
    private readonly Random _random;
    private float[] _probs = [];
    private int[] _order = [];
    private float[] _keys = [];
    private float[] _penalized = [];
    private int[] _counts = [];

    /// <param name="seed">seeds the draws; the same seed and logits give the same tokens</param>
    public CpuSampler(SamplingSettings settings, int seed)
    {
        _settings = settings;
        _random = new Random(seed);
    }

    /// <summary>The next token for one row of logits (V), after the tokens <paramref name="previous"/> this row generated so far.</summary>
    public int Next(ReadOnlySpan<float> logits, ReadOnlySpan<int> previous = default)
    {
        if (_settings.HasPenalties && previous.Length > 0) logits = Penalize(logits, previous);
        if (_settings.IsGreedy) return TensorPrimitives.IndexOfMax(logits);
        var kept = Keep(logits);
        var probs = _probs.AsSpan(0, logits.Length);
        var mass = 0.0;
        foreach (var i in kept) mass += probs[i];
        var u = _random.NextDouble() * mass;
        foreach (var i in kept)
            if ((u -= probs[i]) < 0) return i;
        return kept[^1]; // rounding left u a hair above zero
    }

    /// <summary>
    /// A copy of the logits with every token seen in <paramref name="previous"/> penalised: logit/θ if positive,
    /// logit·θ if not (repetition), then − count·frequency − presence.
    /// </summary>
    private ReadOnlySpan<float> Penalize(ReadOnlySpan<float> logits, ReadOnlySpan<int> previous)
    {
        if (_penalized.Length < logits.Length) (_penalized, _counts) = (new float[logits.Length], new int[logits.Length]);
        var penalized = _penalized.AsSpan(0, logits.Length);
        logits.CopyTo(penalized);
        foreach (var token in previous) _counts[token]++;
        foreach (var token in previous)
        {
            var count = _counts[token];
            if (count == 0) continue; // already penalised (a repeated token)
            var logit = penalized[token];
            logit = logit > 0 ? logit / (float)_settings.RepetitionPenalty : logit * (float)_settings.RepetitionPenalty;
            penalized[token] = logit - count * (float)_settings.FrequencyPenalty - (float)_settings.PresencePenalty;
            _counts[token] = 0;
        }
        return penalized;
    }

    /// <summary>The tokens that may be drawn (top-k, nucleus, min-p) with their probabilities in the buffer; for tests.</summary>
    internal ReadOnlySpan<int> Keep(ReadOnlySpan<float> logits)
    {
        var vocab = logits.Length;
        if (_probs.Length < vocab) (_probs, _order, _keys) = (new float[vocab], new int[vocab], new float[vocab]);
        var probs = _probs.AsSpan(0, vocab);
        TensorPrimitives.Divide(logits, (float)_settings.Temperature, probs);
        if (_settings.TopK > 0 && _settings.TopK < vocab)
        {
            var kth = KthLargest(probs, _settings.TopK);
            foreach (ref var p in probs)
                if (p < kth) p = float.NegativeInfinity;
        }
        StableSoftMax.InPlace(probs);

        var count = 0;
        if (_settings.TopP >= 1)
        {
            var floor = MinPFloor(probs);
            for (var i = 0; i < vocab; i++)
                if (probs[i] > 0 && probs[i] >= floor) _order[count++] = i;
            return _order.AsSpan(0, count);
        }

        // Candidates in decreasing probability: the tokens above the floor when they hold p, else all.
        var candidateMass = 0.0;
        for (var i = 0; i < vocab; i++)
            if (probs[i] >= CandidateFloor)
            {
                _order[count++] = i;
                candidateMass += probs[i];
            }
        if (candidateMass < _settings.TopP || count == 0)
        {
            count = 0;
            for (var i = 0; i < vocab; i++)
                if (probs[i] > 0) _order[count++] = i;
        }
        var order = _order.AsSpan(0, count);
        var keys = _keys.AsSpan(0, count);
        for (var i = 0; i < count; i++) keys[i] = -probs[order[i]];
        keys.Sort(order);

        var before = 0.0;
        var nucleus = 0;
        while (nucleus < count && before < _settings.TopP) before += probs[order[nucleus++]];
        nucleus = Math.Max(1, nucleus);
        // Min-p last, on the same probabilities (the order is descending, so the floor cuts a suffix).
        var minFloor = MinPFloor(probs);
        while (nucleus > 1 && probs[order[nucleus - 1]] < minFloor) nucleus--;
        return order[..nucleus];
    }

    /// <summary>min_p × the largest probability (0 when min-p is off).</summary>
    private float MinPFloor(ReadOnlySpan<float> probs) =>
        _settings.MinP > 0 ? (float)_settings.MinP * TensorPrimitives.Max(probs) : 0f;

    /// <summary>The k-th largest value (k ≥ 1), by partial selection on a copy.</summary>
    private float KthLargest(ReadOnlySpan<float> values, int k)
    {
        var copy = _keys.AsSpan(0, values.Length);
        values.CopyTo(copy);
        // Quickselect for index k−1 of the descending order.
        int lo = 0, hi = copy.Length - 1, target = k - 1;
        while (lo < hi)
        {
            var pivot = copy[(lo + hi) >>> 1];
            int i = lo, j = hi;
            while (i <= j)
            {
                while (copy[i] > pivot) i++;
                while (copy[j] < pivot) j--;
                if (i <= j) (copy[i], copy[j]) = (copy[j--], copy[i++]);
            }
            if (target <= j) hi = j;
            else if (target >= i) lo = i;
            else break;
        }
        return copy[target];
    }
}
