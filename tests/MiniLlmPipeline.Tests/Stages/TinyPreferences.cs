using MiniLlmPipeline.Alignment;
using MiniLlmPipeline.Model;
using MiniLlmPipeline.Tokenization;

namespace MiniLlmPipeline.Tests.Stages;

/// <summary>The tiny pipeline's training preference pairs as the reward-model and DPO stages render them, with a checkpoint's tokenizer.</summary>
internal static class TinyPreferences
{
    public const string TrainFile = "data/tiny/preferences.parquet";

    public static (IReadOnlyList<PreferencePair> Pairs, int PadId) Training(string checkpointDir)
    {
        var tokenizer = TextTokenizer.Load(Path.Combine(checkpointDir, ModelCheckpoint.TokenizerFolder));
        var maxSeqLen = ModelCheckpoint.ReadConfig(checkpointDir).MaxSeqLen;
        return (PreferenceCollator.Load(RepoPaths.Under(TrainFile), tokenizer, maxSeqLen).Pairs, tokenizer.PadId);
    }

    /// <summary>
    /// The pairs whose two sides still differ inside the window: the tiny model's 64-token context cuts most tiny
    /// responses, and a pair cut to two identical sequences can be told apart by no model.
    /// </summary>
    public static IReadOnlyList<PreferencePair> Distinguishable(IReadOnlyList<PreferencePair> pairs) =>
        pairs.Where(p => !p.Chosen.Ids.SequenceEqual(p.Rejected.Ids)).ToList();
}
