using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace MiniLlmPipeline.IO;

/// <summary>SHA-256 fingerprints that decide whether a stage is up to date.</summary>
public static class ContentHash
{
    public static string OfFile(string path)
    {
        using var stream = File.OpenRead(path);
        return Convert.ToHexStringLower(SHA256.HashData(stream));
    }

    public static string OfText(string text) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text)));

    /// <summary>Hash of an object's JSON form (all properties, defaults included, in declaration order).</summary>
    public static string OfConfig(object value) =>
        OfText(JsonSerializer.Serialize(value, value.GetType(), JsonDefaults.Options));
}
