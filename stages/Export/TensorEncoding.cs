namespace MiniLlmPipeline.Stages.Export;

/// <summary>
/// Tensor bytes in the ggml types we export: f32, f16 (round to nearest even, as numpy's astype), and
/// q8_0 — blocks of 32 values along a row, each an f16 scale d = max|x|/127 followed by 32 int8 q =
/// round(x/d) (half away from zero), computed like gguf-py's quants.py so files match convert_hf_to_gguf.py's.
/// </summary>
public static class TensorEncoding
{
    public const int Q8BlockSize = 32;

    /// <summary>True when every row of length <paramref name="rowLength"/> splits into whole q8_0 blocks.</summary>
    public static bool FitsQ8(long rowLength) => rowLength % Q8BlockSize == 0;

    public static byte[] Encode(float[] values, GgmlType type) => type switch
    {
        GgmlType.F32 => F32(values),
        GgmlType.F16 => F16(values),
        GgmlType.Q8_0 => Q8_0(values),
        _ => throw new ArgumentOutOfRangeException(nameof(type), type, "not an exported tensor type"),
    };

    private static byte[] F32(float[] values)
    {
        var bytes = new byte[values.Length * 4];
        Buffer.BlockCopy(values, 0, bytes, 0, bytes.Length);
        return bytes;
    }

    private static byte[] F16(float[] values)
    {
        var bytes = new byte[values.Length * 2];
        for (var i = 0; i < values.Length; i++)
            BitConverter.TryWriteBytes(bytes.AsSpan(2 * i), (Half)values[i]);
        return bytes;
    }

    private static byte[] Q8_0(float[] values)
    {
        if (values.Length % Q8BlockSize != 0) throw new ArgumentException($"q8_0 needs a multiple of {Q8BlockSize} values, got {values.Length}", nameof(values));
        const int blockBytes = 2 + Q8BlockSize;
        var bytes = new byte[values.Length / Q8BlockSize * blockBytes];
        for (var b = 0; b < values.Length / Q8BlockSize; b++)
        {
            var block = values.AsSpan(b * Q8BlockSize, Q8BlockSize);
            var max = 0f;
            foreach (var v in block) max = Math.Max(max, Math.Abs(v));
            var d = max / 127f;
            var inverse = d == 0 ? 0f : 1f / d;
            var output = bytes.AsSpan(b * blockBytes, blockBytes);
            BitConverter.TryWriteBytes(output, (Half)d);
            for (var i = 0; i < Q8BlockSize; i++)
                output[2 + i] = (byte)(sbyte)RoundHalfAwayFromZero(block[i] * inverse);
        }
        return bytes;
    }

    private static float RoundHalfAwayFromZero(float x)
    {
        var a = Math.Abs(x);
        var floored = MathF.Floor(a);
        return MathF.CopySign(floored + MathF.Floor(2 * (a - floored)), x);
    }
}
