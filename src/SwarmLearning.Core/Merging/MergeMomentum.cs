using System.Numerics.Tensors;
using SwarmLearning.Tensors;

namespace SwarmLearning.Merging;

/// <summary>
/// Merge momentum, the server momentum of federated averaging (FedAvgM) without a server: a leader publishes
/// M + β (X₁ − X₂), where M is its merge of the round's submissions and X₁, X₂ the swarm's last two merged models.
/// </summary>
/// <remarks>
/// FedAvgM keeps a velocity v ← β v + (M − X₁) and publishes X₁ + v. Since the velocity of the last round is exactly
/// X₁ − X₂, that is M + β (X₁ − X₂): the state lives in the two models every node already holds, so any node can lead
/// the next round (docs/merge-methods.md#merge-momentum).
/// </remarks>
public static class MergeMomentum
{
    /// <summary>Whether <paramref name="beta"/> is a merge momentum: at least 0 (0: none) and below 1 (NaN is not).</summary>
    public static bool IsValid(double beta) => beta is >= 0 and < 1;

    /// <summary>
    /// Returns a new model, <paramref name="merged"/> + <paramref name="beta"/> (<paramref name="latest"/> −
    /// <paramref name="before"/>), tensor by tensor (same names, dtypes and shapes, in the same order). The inputs
    /// are left as they are.
    /// </summary>
    /// <exception cref="MergeException">The models' tensors differ, or β is not in [0, 1).</exception>
    public static TensorModel Apply(TensorModel merged, TensorModel latest, TensorModel before, float beta)
    {
        ArgumentNullException.ThrowIfNull(merged);
        ArgumentNullException.ThrowIfNull(latest);
        ArgumentNullException.ThrowIfNull(before);
        if (!IsValid(beta))
        {
            throw new MergeException($"merge momentum must be at least 0 and below 1, not {beta}");
        }

        var tensors = new List<NamedTensor>(merged.NamedTensors.Count);
        for (var i = 0; i < merged.NamedTensors.Count; i++)
        {
            var m = merged.NamedTensors[i];
            var x1 = Match(latest, i, m.Info, "the last merged model");
            var x2 = Match(before, i, m.Info, "the merged model before it");
            var values = GC.AllocateUninitializedArray<float>(m.Values.Length);
            TensorPrimitives.Subtract(x1, x2, values);
            TensorPrimitives.MultiplyAdd(values, beta, m.Values, values);
            tensors.Add(new NamedTensor(m.Info, values));
        }

        return new TensorModel(tensors, merged.Metadata, merged.Name);
    }

    private static float[] Match(TensorModel model, int index, TensorInfo expected, string what)
    {
        if (index >= model.NamedTensors.Count || model.NamedTensors[index].Info != expected)
        {
            throw new MergeException($"merge momentum: {what} has no tensor '{expected.Name}' {expected.DType} {expected.Shape} at position {index}; its tensors differ from the merge's");
        }

        return model.NamedTensors[index].Values;
    }
}
