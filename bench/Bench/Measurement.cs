namespace MiniLlmPipeline.Bench;

/// <summary>One number of the benchmark table: what was measured, its value and unit, and how it was measured.</summary>
internal sealed record Measurement(string Section, string Name, double? Value, string Unit, string Detail = "")
{
    /// <summary>A row for something that could not be measured in this run (Value null), with the reason.</summary>
    public static Measurement Missing(string section, string name, string reason) => new(section, name, null, "", reason);
}
