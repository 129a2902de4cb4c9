using SwarmLearning.Tensors;

namespace SwarmLearning.Client;

/// <summary>
/// How the <see cref="SwarmCallback"/> reaches a model: named tensors out, named tensors in. Any model can implement
/// it; use PyTorch's <c>state_dict</c> names so models move between .NET and Python programs.
/// </summary>
public interface IModelAdapter
{
    /// <summary>The model's current weights. They are written out before training goes on, so live arrays are fine.</summary>
    TensorModel GetWeights();

    /// <summary>Replaces the model's weights with <paramref name="model"/> (the same tensor names and shapes).</summary>
    void SetWeights(IModelSource model);
}
