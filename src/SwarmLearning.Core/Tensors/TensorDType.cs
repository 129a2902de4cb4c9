namespace SwarmLearning.Tensors;

/// <summary>The element types a SwarmLearning model may store. Computation always happens in f32.</summary>
public enum TensorDType
{
    /// <summary>IEEE 754 binary32.</summary>
    F32,

    /// <summary>IEEE 754 binary16.</summary>
    F16,

    /// <summary>bfloat16: the upper 16 bits of a binary32.</summary>
    BF16,
}

/// <summary>Sizes and safetensors names of <see cref="TensorDType"/> values.</summary>
public static class TensorDTypes
{
    /// <summary>Bytes per element.</summary>
    public static int SizeInBytes(this TensorDType dtype) => dtype switch
    {
        TensorDType.F32 => 4,
        TensorDType.F16 => 2,
        TensorDType.BF16 => 2,
        _ => throw new ArgumentOutOfRangeException(nameof(dtype), dtype, "unknown dtype"),
    };

    /// <summary>The name safetensors uses in its header ("F32", "F16", "BF16").</summary>
    public static string ToSafetensorsName(this TensorDType dtype) => dtype switch
    {
        TensorDType.F32 => "F32",
        TensorDType.F16 => "F16",
        TensorDType.BF16 => "BF16",
        _ => throw new ArgumentOutOfRangeException(nameof(dtype), dtype, "unknown dtype"),
    };

    /// <summary>Parses a safetensors dtype name; only the floating-point types SwarmLearning merges are accepted.</summary>
    public static bool TryParseSafetensorsName(string name, out TensorDType dtype)
    {
        switch (name)
        {
            case "F32":
                dtype = TensorDType.F32;
                return true;
            case "F16":
                dtype = TensorDType.F16;
                return true;
            case "BF16":
                dtype = TensorDType.BF16;
                return true;
            default:
                dtype = default;
                return false;
        }
    }

    /// <summary>Parses "f32", "f16" or "bf16" in any case, as users type them on a command line.</summary>
    public static bool TryParse(string text, out TensorDType dtype) =>
        TryParseSafetensorsName(text.ToUpperInvariant(), out dtype);
}
