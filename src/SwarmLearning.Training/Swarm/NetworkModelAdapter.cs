using SwarmLearning.Client;
using SwarmLearning.Tensors;

namespace SwarmLearning.Training.Swarm;

/// <summary>
/// Lets a <see cref="SwarmCallback"/> reach a <see cref="Network"/>: its parameters out as named tensors
/// (<see cref="Network.ToModel"/>, no copy), a merged model in (<see cref="Network.Load"/>, which checks names, shapes
/// and values and changes nothing on a mismatch).
/// </summary>
public sealed class NetworkModelAdapter : IModelAdapter
{
    /// <summary>Wraps <paramref name="network"/>.</summary>
    public NetworkModelAdapter(Network network)
    {
        ArgumentNullException.ThrowIfNull(network);
        Network = network;
    }

    /// <summary>The network.</summary>
    public Network Network { get; }

    /// <inheritdoc/>
    public TensorModel GetWeights() => Network.ToModel();

    /// <inheritdoc/>
    public void SetWeights(IModelSource model) => Network.Load(model);
}
