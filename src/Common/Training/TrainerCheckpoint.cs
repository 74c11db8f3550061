using System.Text.Json;
using MiniLlmPipeline.IO;
using MiniLlmPipeline.Model;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace MiniLlmPipeline.Training;

/// <summary>
/// The resumable state of a run (state/): model weights, optimizer moments, and the step counter
/// (which also fixes the data position and RNG streams, see <see cref="ITrainingObjective"/>), plus what the loop decided
/// from validation so far (<see cref="ValidationMonitor"/>) and, under <c>keep: best</c>, the best step's trainable weights.
/// Written as a whole folder swap, so a kill at any moment leaves the previous or the new state.
/// </summary>
internal static class TrainerCheckpoint
{
    private const string ModelFile = "model.pt";
    private const string OptimizerFile = "optimizer.pt";
    private const string ProgressFile = "trainer.json";
    private const string BestFile = "best.safetensors";

    public sealed record Progress(int Step, long TokensSeen, double SecondsTraining)
    {
        /// <summary>The validation monitor's state (null for a run that watches nothing, or a state written before it existed).</summary>
        public ValidationMonitor.State? Monitor { get; init; }
    }

    public static void Save(string stateDir, nn.Module model, OptimizerHelper optimizer, Progress progress,
        IReadOnlyDictionary<string, Tensor>? best = null) =>
        AtomicFile.ReplaceDirectory(stateDir, temp =>
        {
            model.save(Path.Combine(temp, ModelFile));
            optimizer.save_state_dict(Path.Combine(temp, OptimizerFile));
            if (best is not null) Safetensors.Save(Path.Combine(temp, BestFile), best);
            File.WriteAllText(Path.Combine(temp, ProgressFile), JsonSerializer.Serialize(progress, JsonDefaults.Options));
        });

    public static Progress? TryLoad(string stateDir, nn.Module model, OptimizerHelper optimizer) =>
        TryLoad(stateDir, model, optimizer, out _);

    /// <summary>As <see cref="TryLoad(string, nn.Module, OptimizerHelper)"/>, also giving the saved best weights (null when none).</summary>
    public static Progress? TryLoad(string stateDir, nn.Module model, OptimizerHelper optimizer, out Dictionary<string, Tensor>? best)
    {
        best = null;
        AtomicFile.RecoverDirectory(stateDir);
        var progressPath = Path.Combine(stateDir, ProgressFile);
        if (!File.Exists(progressPath)) return null;
        model.load(Path.Combine(stateDir, ModelFile));
        optimizer.load_state_dict(Path.Combine(stateDir, OptimizerFile));
        var bestPath = Path.Combine(stateDir, BestFile);
        if (File.Exists(bestPath)) best = Safetensors.Load(bestPath);
        return JsonSerializer.Deserialize<Progress>(File.ReadAllText(progressPath), JsonDefaults.Options);
    }
}
