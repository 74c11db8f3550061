namespace MiniLlmPipeline.Pipeline;

/// <summary>Lifecycle of a stage run as recorded in its manifest.</summary>
public static class StageStatus
{
    public const string Running = "running";
    public const string Complete = "complete";
    public const string Failed = "failed";
}
