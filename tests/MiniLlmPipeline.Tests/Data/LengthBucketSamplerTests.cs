using MiniLlmPipeline.Data;

namespace MiniLlmPipeline.Tests.Data;

public class LengthBucketSamplerTests
{
    private static int[] RandomLengths(int count)
    {
        var random = new Random(7);
        return Enumerable.Range(0, count).Select(_ => random.Next(1, 200)).ToArray();
    }

    [Fact]
    public void EveryIndexAppearsOncePerEpoch_IncludingThePartialBatch()
    {
        var sampler = new LengthBucketSampler(RandomLengths(103), batchSize: 10, seed: 1, chunkBatches: 3);
        Assert.Equal(11, sampler.BatchesPerEpoch);
        for (var epoch = 0; epoch < 2; epoch++)
        {
            var seen = Enumerable.Range(0, 11).SelectMany(j => sampler.Batch(epoch * 11 + j)).Order().ToArray();
            Assert.Equal(Enumerable.Range(0, 103), seen);
        }
    }

    [Fact]
    public void Batch_IsAPureFunctionOfSeedAndIndex()
    {
        var lengths = RandomLengths(200);
        var sequential = new LengthBucketSampler(lengths, 8, seed: 42);
        var all = Enumerable.Range(0, 60).Select(k => sequential.Batch(k)).ToArray();
        var resumed = new LengthBucketSampler(lengths, 8, seed: 42);
        foreach (var k in new[] { 37, 3, 59, 25, 0 })
            Assert.Equal(all[k], resumed.Batch(k));
        Assert.NotEqual(all[0], new LengthBucketSampler(lengths, 8, seed: 43).Batch(0));
        Assert.NotEqual(all[0], all[25]); // epoch 1 (25 batches per epoch) is reshuffled
    }

    [Fact]
    public void Bucketing_CutsPaddingComparedWithPlainShuffling()
    {
        var lengths = RandomLengths(1000);
        long Padding(LengthBucketSampler sampler) => Enumerable.Range(0, sampler.BatchesPerEpoch)
            .Select(k => sampler.Batch(k)).Sum(batch => (long)batch.Max(i => lengths[i]) * batch.Length - batch.Sum(i => lengths[i]));
        // chunkBatches = 1 sorts only within a batch, which is plain random batching.
        var plain = Padding(new LengthBucketSampler(lengths, 10, seed: 3, chunkBatches: 1));
        var bucketed = Padding(new LengthBucketSampler(lengths, 10, seed: 3, chunkBatches: 50));
        Assert.True(bucketed * 10 < plain, $"bucketed padding {bucketed} vs plain {plain}");
    }
}
