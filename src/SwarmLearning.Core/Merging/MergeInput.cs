using SwarmLearning.Tensors;

namespace SwarmLearning.Merging;

/// <summary>One model taking part in a merge, with its weight.</summary>
/// <param name="Model">The model.</param>
/// <param name="Weight">
/// Its weight: HPE's node weightage (an integer 1–100; 0 for a node that checked in <c>inactive</c>) or its number
/// of training samples. Finite and non-negative; inputs of weight 0 take no part in the result.
/// </param>
public sealed record MergeInput(IModelSource Model, double Weight = 1)
{
    /// <summary>An input weighted by HPE's node weightage, validated to be an integer from 1 to 100.</summary>
    public static MergeInput WithNodeWeightage(IModelSource model, int nodeWeightage)
    {
        if (nodeWeightage is < 1 or > 100)
        {
            throw new SwarmException($"{model?.Name}: nodeWeightage must be an integer from 1 to 100, not {nodeWeightage}");
        }

        return new MergeInput(model!, nodeWeightage);
    }

    /// <summary>An input weighted by its number of training samples (at least 1).</summary>
    public static MergeInput WithSampleCount(IModelSource model, long samples)
    {
        if (samples < 1)
        {
            throw new SwarmException($"{model?.Name}: the sample count must be at least 1, not {samples}");
        }

        return new MergeInput(model!, samples);
    }
}
