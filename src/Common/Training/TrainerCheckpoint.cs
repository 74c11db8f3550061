using System.Text.Json;
using MiniLlmPipeline.IO;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace MiniLlmPipeline.Training;

/// <summary>
/// The resumable state of a run (state/): model weights, optimizer moments, and the step counter
/// (which also fixes the data position and RNG streams, see <see cref="ITrainingObjective"/>).
/// Written as a whole folder swap, so a kill at any moment leaves the previous or the new state.
/// </summary>
internal static class TrainerCheckpoint
{
    private const string ModelFile = "model.pt";
    private const string OptimizerFile = "optimizer.pt";
    private const string ProgressFile = "trainer.json";

    public sealed record Progress(int Step, long TokensSeen, double SecondsTraining);

    public static void Save(string stateDir, nn.Module model, OptimizerHelper optimizer, Progress progress) =>
        AtomicFile.ReplaceDirectory(stateDir, temp =>
        {
            model.save(Path.Combine(temp, ModelFile));
            optimizer.save_state_dict(Path.Combine(temp, OptimizerFile));
            File.WriteAllText(Path.Combine(temp, ProgressFile), JsonSerializer.Serialize(progress, JsonDefaults.Options));
        });

    public static Progress? TryLoad(string stateDir, nn.Module model, OptimizerHelper optimizer)
    {
        AtomicFile.RecoverDirectory(stateDir);
        var progressPath = Path.Combine(stateDir, ProgressFile);
        if (!File.Exists(progressPath)) return null;
        model.load(Path.Combine(stateDir, ModelFile));
        optimizer.load_state_dict(Path.Combine(stateDir, OptimizerFile));
        return JsonSerializer.Deserialize<Progress>(File.ReadAllText(progressPath), JsonDefaults.Options);
    }
}
