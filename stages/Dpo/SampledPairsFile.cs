using MiniLlmPipeline.IO;
using Parquet;
using Parquet.Schema;

namespace MiniLlmPipeline.Stages.Dpo;

/// <summary>One pair on-policy DPO made: a prompt, its best and worst sampled answers and their rewards.</summary>
public sealed record SampledPair(int Round, string Prompt, string Chosen, string Rejected, double ChosenReward, double RejectedReward);

/// <summary>
/// The pairs on-policy DPO sampled, every round so far, as a preferences Parquet file in the stage folder (columns
/// <c>round, prompt, chosen, rejected, chosen_reward, rejected_reward</c>): inspectable, and usable as any stage's
/// preference dataset (<c>data:</c> of an offline dpo or reward_model). Rewritten atomically after each round; a resumed
/// run keeps the rounds before the one it resumes at, so the file always matches the rounds trained on.
/// </summary>
public sealed class SampledPairsFile(string path)
{
    public const string FileName = "pairs.parquet";

    private static readonly DataField<int> RoundField = new("round");
    private static readonly DataField<string> PromptField = new("prompt");
    private static readonly DataField<string> ChosenField = new("chosen");
    private static readonly DataField<string> RejectedField = new("rejected");
    private static readonly DataField<double> ChosenRewardField = new("chosen_reward");
    private static readonly DataField<double> RejectedRewardField = new("rejected_reward");

    public string Path => path;

    /// <summary>Replaces round <paramref name="round"/> and everything after it with <paramref name="pairs"/>.</summary>
    public void Record(int round, IReadOnlyList<SampledPair> pairs)
    {
        var rows = (round == 0 ? [] : Read().Where(p => p.Round < round)).Concat(pairs).ToList();
        var schema = new ParquetSchema(RoundField, PromptField, ChosenField, RejectedField, ChosenRewardField, RejectedRewardField);
        AtomicFile.Write(path, stream =>
        {
            var writer = ParquetWriter.CreateAsync(schema, stream, new ParquetOptions { CompressionMethod = CompressionMethod.Zstd })
                .GetAwaiter().GetResult();
            using (var group = writer.CreateRowGroup())
            {
                // Parquet.Net has one WriteAsync for value types and one for strings, so no generic helper covers both.
                group.WriteAsync(RoundField, new ReadOnlyMemory<int>(rows.Select(r => r.Round).ToArray()), null).GetAwaiter().GetResult();
                foreach (var (field, text) in new[] { (PromptField, (Func<SampledPair, string>)(r => r.Prompt)), (ChosenField, r => r.Chosen), (RejectedField, r => r.Rejected) })
                    group.WriteAsync(field, rows.Select(text).ToArray(), null).GetAwaiter().GetResult();
                group.WriteAsync(ChosenRewardField, new ReadOnlyMemory<double>(rows.Select(r => r.ChosenReward).ToArray()), null).GetAwaiter().GetResult();
                group.WriteAsync(RejectedRewardField, new ReadOnlyMemory<double>(rows.Select(r => r.RejectedReward).ToArray()), null).GetAwaiter().GetResult();
            }
            writer.DisposeAsync().AsTask().GetAwaiter().GetResult();
        });
    }

    public IReadOnlyList<SampledPair> Read()
    {
        if (!File.Exists(path)) return [];
        using var stream = File.OpenRead(path);
        var reader = ParquetReader.CreateAsync(stream, leaveStreamOpen: true).GetAwaiter().GetResult();
        try
        {
            var rows = new List<SampledPair>();
            for (var g = 0; g < reader.RowGroupCount; g++)
            {
                using var group = reader.OpenRowGroupReader(g);
                var count = checked((int)group.RowCount);
                // The file's own fields (not ours): a column is read through the schema element the file declares.
                DataField FileField(DataField field) => reader.Schema.GetDataFields().Single(f => f.Name == field.Name);
                T[] Values<T>(DataField field) where T : struct
                {
                    var values = new T[count];
                    group.ReadAsync(FileField(field), values.AsMemory(), null, CancellationToken.None).AsTask().GetAwaiter().GetResult();
                    return values;
                }
                string[] Strings(DataField field)
                {
                    var values = new string?[count];
                    group.ReadAsync(FileField(field), values.AsMemory()!, null, CancellationToken.None).AsTask().GetAwaiter().GetResult();
                    return values!;
                }
                var (rounds, prompts, chosen, rejected) = (Values<int>(RoundField), Strings(PromptField), Strings(ChosenField), Strings(RejectedField));
                var (chosenRewards, rejectedRewards) = (Values<double>(ChosenRewardField), Values<double>(RejectedRewardField));
                for (var i = 0; i < count; i++)
                    rows.Add(new SampledPair(rounds[i], prompts[i], chosen[i], rejected[i], chosenRewards[i], rejectedRewards[i]));
            }
            return rows;
        }
        finally { reader.DisposeAsync().AsTask().GetAwaiter().GetResult(); }
    }
}
