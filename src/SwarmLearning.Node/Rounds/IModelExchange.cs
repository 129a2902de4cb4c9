using SwarmLearning.Ledger.Contracts;
using SwarmLearning.Tensors;

namespace SwarmLearning.Node.Rounds;

/// <summary>
/// How models move between SL nodes: a node publishes a model (keeps it, serves it by its hash), and fetches a peer's
/// model by the hash the ledger recorded, verifying the hash before it is used. An SL node backs it with its model
/// store and HTTPS file server (mutual TLS, ledger members only); the simulation with direct reads.
/// </summary>
public interface IModelExchange
{
    /// <summary>
    /// Keeps <paramref name="model"/> and serves it to peers as safetensors; returns the model hash and size of those
    /// bytes. The exchange may keep the model itself: the caller must not change its values afterwards.
    /// </summary>
    Task<PublishedModel> PublishAsync(TensorModel model, CancellationToken cancellationToken);

    /// <summary>
    /// Fetches the model with hash <paramref name="modelHash"/> from <paramref name="peer"/>, verifies the hash and the
    /// file (names, shapes, finite values) and returns it. Throws <see cref="ModelExchangeException"/> saying why when
    /// the peer is unreachable, does not have it, or serves something else.
    /// </summary>
    Task<TensorModel> FetchAsync(MemberState peer, string modelHash, long size, CancellationToken cancellationToken);

    /// <summary>
    /// Like <see cref="FetchAsync"/>, verifying just as much, for a model this node only uses and never serves (the
    /// submissions a leader merges: others fetch a submission from its submitter). An implementation may skip keeping
    /// a copy; by default it is <see cref="FetchAsync"/>.
    /// </summary>
    Task<TensorModel> FetchToMergeAsync(MemberState peer, string modelHash, long size, CancellationToken cancellationToken) =>
        FetchAsync(peer, modelHash, size, cancellationToken);

    /// <summary>
    /// <see cref="FetchToMergeAsync(MemberState, string, long, CancellationToken)"/>, with the received tensors' arrays
    /// from <paramref name="allocate"/> where the exchange receives them (a leader recycles the arrays of the
    /// submissions it has merged). An exchange that does not receive bytes ignores it.
    /// </summary>
    Task<TensorModel> FetchToMergeAsync(MemberState peer, string modelHash, long size, Func<int, float[]>? allocate, CancellationToken cancellationToken) =>
        FetchToMergeAsync(peer, modelHash, size, cancellationToken);

    /// <summary>
    /// Lets go of every stored model except <paramref name="keep"/> and those stored in the last minute (which a peer
    /// may still be fetching), so a long training does not fill the disk with old rounds. Called just before a model
    /// of <paramref name="arriving"/> bytes is fetched (0: none), so that an exchange can make the memory let go of
    /// reusable for it first.
    /// </summary>
    void Retain(IReadOnlySet<string> keep, long arriving);
}

/// <summary>A published model: its model hash (<see cref="Safetensors.ModelHash"/>) and size in bytes.</summary>
public sealed record PublishedModel(string Hash, long Size);

/// <summary>A model could not be fetched or failed verification; the message names the peer and the reason.</summary>
public sealed class ModelExchangeException : SwarmException
{
    /// <summary>Creates the error.</summary>
    public ModelExchangeException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the error with its cause.</summary>
    public ModelExchangeException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    /// <summary>Creates the error with no message; prefer the overloads that say why.</summary>
    public ModelExchangeException()
    {
    }
}
