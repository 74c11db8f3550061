using MiniLlmPipeline.IO;

namespace MiniLlmPipeline.Pipeline;

/// <summary>Where a pipeline's artifacts live: runs/&lt;pipeline&gt;/&lt;stage&gt;/ unless the spec sets run_dir.</summary>
public static class RunFolders
{
    /// <summary>A stage folder's subfolder for the trainer's resumable state (not an export of the stage).</summary>
    public const string StateFolder = "state";

    public static string PipelineDir(PipelineSpec spec) => spec.RunDir ?? Path.Combine("runs", spec.Name);

    public static string StageDir(PipelineSpec spec, string stage) => Path.Combine(PipelineDir(spec), stage);

    /// <summary>
    /// The folder of <paramref name="stage"/> when its manifest says complete, else a one-sentence error; <paramref name="where"/>
    /// (e.g. <c>pipelines/x.yaml: stages.sft.from</c>) names the spec key that named the stage, when there is one.
    /// </summary>
    public static string CompletedStageDir(PipelineSpec spec, string stage, string neededBy, string? where = null)
    {
        var dir = StageDir(spec, stage);
        var manifest = Manifest.TryRead(dir);
        if (manifest?.Status == StageStatus.Complete) return dir;
        var state = manifest is null ? $"{Path.Combine(dir, Manifest.FileName)} does not exist" : $"its manifest says '{manifest.Status}'";
        throw new StageInputException(
            $"{(where is null ? "" : where + ": ")}stage '{neededBy}' needs the checkpoint of stage '{stage}', but {state}; run `make {stage}` first");
    }
}
