using MiniLlmPipeline.Generation;
using MiniLlmPipeline.Tests.Model;
using static TorchSharp.torch;

namespace MiniLlmPipeline.Tests.Generation;

public class BeamSearchTests
{
    // Tokens 0 = A, 1 = B, 2 = end, 3 = the prompt. The next-token distribution depends on the last token only.
    private static readonly Dictionary<long, double[]> Next = new()
    {
        [3] = [0.45, 0.3, 0.25, 0], // A is the likelier first token ...
        [0] = [0.4, 0.3, 0.3, 0],   // ... but after A the best step is 0.4 (A A: 0.18)
        [1] = [0.9, 0.05, 0.05, 0], // while B A has 0.3 · 0.9 = 0.27
        [2] = [0, 0, 1, 0],
    };

    private static Tensor ToyLogits(Tensor ids) // (W, T) → (W, V)
    {
        var last = ids.select(1, -1).data<long>().ToArray();
        return stack(last.Select(t => tensor(Next[t].Select(p => p == 0 ? -1e9 : Math.Log(p)).ToArray())).ToArray());
    }

    [Fact]
    public void WidthTwo_FindsTheLikeliestSequence_ThatGreedyMisses()
    {
        using var scope = NewDisposeScope();
        var (greedy, greedyLogProb) = BeamSearch.Search(ToyLogits, [3], width: 1, maxNewTokens: 2, stopIds: []);
        Assert.Equal([0, 0], greedy);
        Assert.Equal(Math.Log(0.45 * 0.4), greedyLogProb, 9);
        var (beam, beamLogProb) = BeamSearch.Search(ToyLogits, [3], width: 2, maxNewTokens: 2, stopIds: []);
        Assert.Equal([1, 0], beam);
        Assert.Equal(Math.Log(0.3 * 0.9), beamLogProb, 9);
    }

    [Fact]
    public void AFinishedAnswer_IsKeptWhenItsLengthNormalisedScoreIsBest()
    {
        using var scope = NewDisposeScope();
        // Stopping at once ("end", 0.25) against the best three-token answer A B A (0.45 · 0.3 · 0.9 = 0.1215): with α = 0
        // the raw log-probability favours the short answer (−1.39 > −2.11); with α = 1 the per-token −2.11 / 3 = −0.70 wins.
        var (raw, _) = BeamSearch.Search(ToyLogits, [3], width: 3, maxNewTokens: 3, stopIds: [2], lengthPenalty: 0);
        Assert.Equal([2], raw);
        var (normalised, logProb) = BeamSearch.Search(ToyLogits, [3], width: 3, maxNewTokens: 3, stopIds: [2], lengthPenalty: 1);
        Assert.Equal([0, 1, 0], normalised);
        Assert.Equal(Math.Log(0.45 * 0.3 * 0.9), logProb, 9);
    }

    [Fact]
    public void OnAModel_WidthOneEqualsGreedyDecoding()
    {
        using var scope = NewDisposeScope();
        using var model = TinyModels.Create();
        int[] prompt = [5, 9, 2];
        var greedy = BatchedGenerator.Generate(model, [prompt], new SamplingSettings { Greedy = true, MaxNewTokens = 6 }, [], 0, null)[0];
        var (beam, _) = BeamSearch.Search(model, prompt, width: 1, maxNewTokens: 6, stopIds: []);
        Assert.Equal(greedy, beam);
    }
}
