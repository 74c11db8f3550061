using SkiaSharp;

namespace MiniLlmPipeline.Stages.Explain;

/// <summary>
/// A T × T matrix of attention weights as a PNG of one pixel per cell (the page scales it up without smoothing), as a
/// data URI so the page is one file. Colours follow viridis from 0 to 1 on a square-root scale: most weights are
/// small, and on a linear scale everything but the largest would look alike.
/// </summary>
internal static class HeatmapImage
{
    // Viridis at 0, .25, .5, .75, 1 (matplotlib's table).
    private static readonly (byte R, byte G, byte B)[] Stops = [(68, 1, 84), (59, 82, 139), (33, 145, 140), (94, 201, 98), (253, 231, 37)];

    public static string DataUri(ReadOnlySpan<float> weights, int t)
    {
        using var bitmap = new SKBitmap(t, t, SKColorType.Rgba8888, SKAlphaType.Opaque);
        for (var query = 0; query < t; query++)
            for (var key = 0; key < t; key++)
                bitmap.SetPixel(key, query, key > query ? new SKColor(245, 245, 245) : Colour(weights[query * t + key]));
        using var png = bitmap.Encode(SKEncodedImageFormat.Png, 100);
        return "data:image/png;base64," + Convert.ToBase64String(png.ToArray());
    }

    public static SKColor Colour(double weight)
    {
        var x = Math.Sqrt(Math.Clamp(weight, 0, 1)) * (Stops.Length - 1);
        var i = Math.Min((int)x, Stops.Length - 2);
        var f = x - i;
        byte Mix(byte a, byte b) => (byte)Math.Round(a + (b - a) * f);
        return new SKColor(Mix(Stops[i].R, Stops[i + 1].R), Mix(Stops[i].G, Stops[i + 1].G), Mix(Stops[i].B, Stops[i + 1].B));
    }
}
