using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Text;
using SwarmLearning.Safetensors;

namespace SwarmLearning.Tests.Safetensors;

/// <summary>
/// Builds safetensors files byte by byte (8-byte little-endian header length, header, data) so that every malformed
/// case is spelled out in the test that uses it, independent of <see cref="SafetensorsWriter"/>.
/// </summary>
internal static class RawSafetensors
{
    /// <summary>Writes a file whose length prefix is the true byte length of <paramref name="header"/>.</summary>
    public static string Write(string path, string header, ReadOnlySpan<byte> data = default)
    {
        var headerBytes = Encoding.UTF8.GetBytes(header);
        return Write(path, (ulong)headerBytes.Length, headerBytes, data);
    }

    /// <summary>Writes a file with an arbitrary declared header length, which may disagree with the bytes that follow.</summary>
    public static string Write(string path, ulong declaredHeaderLength, ReadOnlySpan<byte> headerBytes, ReadOnlySpan<byte> data = default)
    {
        var bytes = new byte[8 + headerBytes.Length + data.Length];
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, declaredHeaderLength);
        headerBytes.CopyTo(bytes.AsSpan(8));
        data.CopyTo(bytes.AsSpan(8 + headerBytes.Length));
        File.WriteAllBytes(path, bytes);
        return path;
    }

    /// <summary>Little-endian bytes of f32 values.</summary>
    public static byte[] F32(params float[] values) => MemoryMarshal.AsBytes(values.AsSpan()).ToArray();

    /// <summary>Little-endian bytes of raw f32 bit patterns.</summary>
    public static byte[] F32Bits(params uint[] bits) => MemoryMarshal.AsBytes(bits.AsSpan()).ToArray();

    /// <summary>Little-endian bytes of raw 16-bit patterns (f16 or bf16).</summary>
    public static byte[] Bits16(params ushort[] bits) => MemoryMarshal.AsBytes(bits.AsSpan()).ToArray();

    /// <summary>Asserts that opening the file fails with a <see cref="ModelFormatException"/> that names it.</summary>
    public static ModelFormatException AssertRefused(string path, string? tensor, string problem, SafetensorsLimits? limits = null) =>
        AssertRefusedBy(() => SafetensorsFile.Open(path, limits), path, tensor, problem);

    /// <summary>Like <see cref="AssertRefusedBy(Func{object?}, string, string?, string)"/> for an action without a result.</summary>
    public static ModelFormatException AssertRefusedBy(Action action, string path, string? tensor, string problem) =>
        AssertRefusedBy(
            () =>
            {
                action();
                return null;
            },
            path,
            tensor,
            problem);

    /// <summary>
    /// Asserts that <paramref name="action"/> fails with exactly <see cref="ModelFormatException"/> (no other type),
    /// that the message names the file, names the tensor when one is at fault (and none otherwise), and says
    /// <paramref name="problem"/>.
    /// </summary>
    public static ModelFormatException AssertRefusedBy(Func<object?> action, string path, string? tensor, string problem)
    {
        var e = Assert.Throws<ModelFormatException>(() =>
        {
            var result = action();
            (result as IDisposable)?.Dispose();
            return result;
        });
        Assert.Equal(path, e.File);
        Assert.StartsWith(path + ": ", e.Message, StringComparison.Ordinal);
        Assert.Equal(tensor, e.Tensor);
        if (tensor is not null)
        {
            Assert.Contains($"tensor '{tensor}'", e.Message, StringComparison.Ordinal);
        }

        Assert.Contains(problem, e.Problem, StringComparison.Ordinal);
        Assert.Contains(e.Problem, e.Message, StringComparison.Ordinal);
        return e;
    }
}
