using SwarmLearning.Safetensors;
using SwarmLearning.Tensors;

namespace SwarmLearning.Node.Tests.Harness;

/// <summary>Tiny models: two tensors with PyTorch-style names, values chosen by the test.</summary>
internal static class Models
{
    public static TensorModel Tiny(float seed) => new(
    [
        new NamedTensor("fc.weight", TensorDType.F32, new TensorShape(2, 3), [seed, seed + 1, seed + 2, seed + 3, seed + 4, seed + 5]),
        new NamedTensor("fc.bias", TensorDType.F32, new TensorShape(2), [seed / 2, -seed]),
    ]);

    /// <summary>
    /// A model of about four million parameters (16 MB of f32), every weight <paramref name="value"/>: large enough that
    /// fetching, verifying and merging the round's models takes the leader a moment.
    /// </summary>
    public static TensorModel Large(float value)
    {
        const int Rows = 2048;
        const int Columns = 2048;
        var weight = new float[Rows * Columns];
        Array.Fill(weight, value);
        var bias = new float[Rows];
        Array.Fill(bias, -value);
        return new TensorModel(
        [
            new NamedTensor("layer.weight", TensorDType.F32, new TensorShape(Rows, Columns), weight),
            new NamedTensor("layer.bias", TensorDType.F32, new TensorShape(Rows), bias),
        ]);
    }

    public static byte[] Bytes(TensorModel model)
    {
        var path = Path.Combine(Path.GetTempPath(), $"swarm-test-{Guid.NewGuid():N}.safetensors");
        try
        {
            SafetensorsWriter.Write(path, model);
            return File.ReadAllBytes(path);
        }
        finally
        {
            File.Delete(path);
        }
    }

    public static TensorModel Parse(byte[] bytes)
    {
        var path = Path.Combine(Path.GetTempPath(), $"swarm-test-{Guid.NewGuid():N}.safetensors");
        try
        {
            File.WriteAllBytes(path, bytes);
            using var file = SafetensorsFile.Open(path);
            return file.LoadModel();
        }
        finally
        {
            File.Delete(path);
        }
    }

    public static float[] Values(TensorModel model, string tensor) => model[tensor].Values;
}
