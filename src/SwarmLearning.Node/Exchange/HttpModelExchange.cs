using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using SwarmLearning.Identity;
using SwarmLearning.Ledger.Contracts;
using SwarmLearning.Node.Rounds;
using SwarmLearning.Node.Storage;
using SwarmLearning.Safetensors;
using SwarmLearning.Tensors;

namespace SwarmLearning.Node.Exchange;

/// <summary>
/// Models between SL nodes over HTTPS with mutual TLS: a node publishes into its <see cref="ModelStore"/>, which its
/// file server serves by hash; it fetches a peer's model from <c>https://host:filePort/v1/models/{modelHash}</c>, presenting
/// its own identity, accepting only a server whose certificate is an SL identity of the swarm naming the peer's host,
/// and keeps the model only if its size and hash are what the ledger recorded and it is a valid model.
/// </summary>
public sealed partial class HttpModelExchange : IModelExchange, IDisposable
{
    /// <summary>The slowest transfer a fetch is allowed before it times out, beyond its fixed allowance.</summary>
    public const long MinBytesPerSecond = 50L * 1024 * 1024;

    private readonly ModelStore _store;
    private readonly IdentityHttpClient _http;
    private readonly ILogger _logger;
    private readonly ConcurrentDictionary<string, long> _lastAnswer = new(StringComparer.OrdinalIgnoreCase);
    private readonly RecycledArrays _keptArrays = new();
    private long _bytesSinceCollect;
    private int _collections;

    /// <summary>An exchange that keeps models in <paramref name="store"/> and fetches as <paramref name="identity"/>.</summary>
    public HttpModelExchange(ModelStore store, SwarmIdentity identity, SwarmTrust trust, ILogger logger)
        : this(store, new IdentityHolder(identity ?? throw new ArgumentNullException(nameof(identity))), trust, logger)
    {
    }

    /// <summary>An exchange that fetches as whatever identity <paramref name="identity"/> holds (a node that rotates its certificate).</summary>
    public HttpModelExchange(ModelStore store, IdentityHolder identity, SwarmTrust trust, ILogger logger)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(identity);
        ArgumentNullException.ThrowIfNull(trust);
        ArgumentNullException.ThrowIfNull(logger);
        _store = store;
        _logger = logger;
        _http = new IdentityHttpClient(identity, current =>
        {
            var handler = SwarmTls.CreateClientHandler(current, trust, SwarmRole.Sl, logger);
            handler.PooledConnectionIdleTimeout = TimeSpan.FromMinutes(2);
            return new HttpClient(handler, disposeHandler: true) { Timeout = Timeout.InfiniteTimeSpan };
        });
    }

    /// <summary>The fixed part of a fetch's time limit; the rest grows with the size at <see cref="MinBytesPerSecond"/>.</summary>
    public TimeSpan FetchAllowance { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>
    /// How long a fetch of <paramref name="size"/> bytes may take before it is given up: by this node as a receiver, and
    /// by its file server as a sender (a peer that has not read a model by then would have given up on it).
    /// </summary>
    public TimeSpan FetchLimit(long size) => FetchAllowance + TimeSpan.FromSeconds((double)Math.Max(0, size) / MinBytesPerSecond);

    /// <summary>
    /// The largest model this node fetches: a model the ledger records as larger is refused before any byte is
    /// requested, since the fetch would hold it in memory (a hostile participant could record any size).
    /// </summary>
    public long MaxModelBytes { get; init; } = Hosting.SwarmLearningNodeOptions.DefaultMaxModelBytes;

    /// <summary>The clock of <see cref="LastAnswerFrom"/>.</summary>
    public TimeProvider Time { get; init; } = TimeProvider.System;

    /// <summary>The store models are published to and received into.</summary>
    public ModelStore Store => _store;

    /// <inheritdoc/>
    /// <remarks>
    /// A round leaves several model-sized arrays behind (received submissions, decoded requests). They live on the
    /// large object heap, which the runtime collects only when its budget runs out, by which time a node holds several
    /// rounds of them. Once the models that passed through here since the last time, with the one about to arrive, add up
    /// to <see cref="CollectAfterBytes"/>, a full collection lets it reuse their memory (see <see cref="MakeRoom"/>; it
    /// spares the kernel zeroing fresh pages). Its cost is small, as the heap holds few objects beyond those arrays; small models never
    /// reach the threshold in a round and pay nothing.
    /// <para>
    /// The models this exchange fetched and kept (merged models) are received into arrays it recycles: when the store
    /// lets go of one and no peer is still downloading it, its arrays hold the next fetched model of the same layout.
    /// A node that does not lead then receives each round's merged model into the memory of the one from two rounds
    /// before, where fresh arrays cost a page fault and the kernel's zeroing for every 4 KiB. Each call trims what is kept
    /// for reuse to the arriving model's size (a leader, which fetches nothing, keeps none; a model a peer was still
    /// downloading comes back when the download ends, and waits for the next call).
    /// </para>
    /// </remarks>
    public void Retain(IReadOnlySet<string> keep, long arriving)
    {
        _store.Prune(keep, TimeSpan.FromMinutes(1), _keptArrays.Return);
        _keptArrays.TrimTo(Math.Max(arriving, 0));
        MakeRoom(arriving);
    }

    /// <summary>
    /// Collects the heap when the models that passed through here since the last collection, with the
    /// <paramref name="arriving"/> bytes of the one about to arrive, add up to <see cref="CollectAfterBytes"/>: what
    /// the node let go of since then is freed before the new model needs the memory, not after. The local channel calls
    /// it before it reads an ML program's model (the previous one was let go of when its call returned).
    /// </summary>
    public void MakeRoom(long arriving)
    {
        if (Interlocked.Read(ref _bytesSinceCollect) + Math.Max(arriving, 0) >= CollectAfterBytes)
        {
            Interlocked.Exchange(ref _bytesSinceCollect, 0);
            Interlocked.Increment(ref _collections);
            GC.Collect(GC.MaxGeneration, GCCollectionMode.Forced, blocking: true, compacting: false);
        }
    }

    /// <summary>How many arrays fetches of kept models have allocated because none was free to recycle (for tests).</summary>
    internal int KeptArraysAllocated => _keptArrays.Allocated;

    /// <summary>How many heap collections <see cref="MakeRoom"/> has made (for tests).</summary>
    internal int Collections => Volatile.Read(ref _collections);

    /// <summary>How many bytes of models pass through before the heap is collected (see <see cref="MakeRoom"/>): 256 MiB.</summary>
    public const long CollectAfterBytes = 256L << 20;

    /// <inheritdoc/>
    public Task<PublishedModel> PublishAsync(TensorModel model, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(model);
        return Task.Run(() =>
        {
            var published = _store.Put(model);
            Interlocked.Add(ref _bytesSinceCollect, published.Size);
            return published;
        }, cancellationToken);
    }

    /// <inheritdoc/>
    public Task<TensorModel> FetchAsync(MemberState peer, string modelHash, long size, CancellationToken cancellationToken) =>
        FetchAsync(peer, modelHash, size, keep: true, _keptArrays.Rent, cancellationToken);

    /// <inheritdoc/>
    /// <remarks>The model is verified in memory and not written to the store.</remarks>
    public Task<TensorModel> FetchToMergeAsync(MemberState peer, string modelHash, long size, CancellationToken cancellationToken) =>
        FetchAsync(peer, modelHash, size, keep: false, allocate: null, cancellationToken);

    /// <inheritdoc/>
    /// <remarks>The model is verified in memory and not written to the store.</remarks>
    public Task<TensorModel> FetchToMergeAsync(MemberState peer, string modelHash, long size, Func<int, float[]>? allocate, CancellationToken cancellationToken) =>
        FetchAsync(peer, modelHash, size, keep: false, allocate, cancellationToken);

    private async Task<TensorModel> FetchAsync(MemberState peer, string modelHash, long size, bool keep, Func<int, float[]>? allocate, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(peer);
        if (!ModelHash.IsValid(modelHash))
        {
            throw new ModelExchangeException($"'{modelHash}' is not a model hash (64 lowercase hex digits); nothing to fetch from SL node '{peer.Name}'");
        }

        if (_store.Contains(modelHash))
        {
            try
            {
                return await Task.Run(() => _store.Load(modelHash), cancellationToken).ConfigureAwait(false);
            }
            catch (Safetensors.ModelFormatException e)
            {
                // A damaged local copy: drop it and fetch it again.
                Log.LocalCopyDamaged(_logger, modelHash[..12], e.Message);
                File.Delete(_store.PathOf(modelHash));
            }
        }

        if (size > MaxModelBytes)
        {
            throw new ModelExchangeException(
                $"the ledger records model {modelHash[..12]} of SL node '{peer.Name}' as {size} bytes, more than the {MaxModelBytes} bytes this node takes (MaxModelBytes); not fetched");
        }

        if (peer.Host is not { Length: > 0 } host || peer.FilePort is not { } port)
        {
            throw new ModelExchangeException($"SL node '{peer.Name}' has registered no file server address; cannot fetch model {modelHash[..12]} from it");
        }

        var uri = ModelUri(host, port, modelHash);
        var from = $"SL node '{peer.Name}' ({uri.Authority})";
        var limit = FetchLimit(size);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(limit);
        try
        {
            using var response = await _http.Current.GetAsync(uri, HttpCompletionOption.ResponseHeadersRead, timeout.Token).ConfigureAwait(false);
            if (!response.IsSuccessStatusCode)
            {
                var reason = await ReadReasonAsync(response, timeout.Token).ConfigureAwait(false);
                throw new ModelExchangeException(response.StatusCode switch
                {
                    HttpStatusCode.NotFound => $"{from} does not have model {modelHash[..12]}: {reason}",
                    HttpStatusCode.Forbidden => $"{from} refused to serve model {modelHash[..12]} to this node: {reason}",
                    _ => $"{from} answered {(int)response.StatusCode} for model {modelHash[..12]}: {reason}",
                });
            }

            Answered(host, port);
            if (response.Content.Headers.ContentLength is { } length && length != size)
            {
                throw new ModelExchangeException($"{from} offers {length} bytes for model {modelHash[..12]}, but the ledger records {size}; refused");
            }

            var body = await response.Content.ReadAsStreamAsync(timeout.Token).ConfigureAwait(false);
            await using (body.ConfigureAwait(false))
            {
                var model = await _store.ReceiveAsync(body, modelHash, size, from, keep, allocate, timeout.Token).ConfigureAwait(false);
                Interlocked.Add(ref _bytesSinceCollect, size);
                Log.Fetched(_logger, modelHash[..12], size, peer.Name);
                return model;
            }
        }
        catch (OperationCanceledException e) when (!cancellationToken.IsCancellationRequested)
        {
            throw new ModelExchangeException($"{from} did not deliver model {modelHash[..12]} ({size} bytes) within {limit.TotalSeconds:0} s", e);
        }
        catch (HttpRequestException e)
        {
            throw new ModelExchangeException($"cannot fetch model {modelHash[..12]} from {from}: {Describe(e)}", e);
        }
        catch (IOException e)
        {
            throw new ModelExchangeException($"the transfer of model {modelHash[..12]} from {from} broke off: {e.Message}", e);
        }
    }

    /// <summary>The address of a model on a peer's file server.</summary>
    public static Uri ModelUri(string host, int port, string modelHash) => FileServerUri(host, port, $"/v1/models/{modelHash}");

    /// <summary>A path on a peer's file server.</summary>
    internal static Uri FileServerUri(string host, int port, string path)
    {
        var h = host.Contains(':', StringComparison.Ordinal) && !host.StartsWith('[') ? $"[{host}]" : host;
        return new Uri($"https://{h}:{port}{path}");
    }

    /// <summary>
    /// When the file server at <paramref name="address"/> (<see cref="Address"/>) last answered this node with
    /// success, as a timestamp of <see cref="Time"/>, or null when it never did.
    /// </summary>
    internal long? LastAnswerFrom(string address) => _lastAnswer.TryGetValue(address, out var at) ? at : null;

    /// <summary>
    /// Asks <paramref name="peer"/>'s file server for <c>GET /v1/ping</c>: the request opens (or keeps open) this node's
    /// TLS connection to it, so that a round's first fetch from it does not wait for a handshake. Throws
    /// <see cref="ModelExchangeException"/> when the peer cannot be reached or refuses.
    /// </summary>
    internal async Task PingAsync(MemberState peer, TimeSpan timeout, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(peer);
        if (peer.Host is not { Length: > 0 } host || peer.FilePort is not { } port)
        {
            throw new ModelExchangeException($"SL node '{peer.Name}' has registered no file server address");
        }

        var uri = FileServerUri(host, port, PeerConnections.PingPath);
        using var limit = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        limit.CancelAfter(timeout);
        try
        {
            using var response = await _http.Current.GetAsync(uri, HttpCompletionOption.ResponseContentRead, limit.Token).ConfigureAwait(false);
            if (!response.IsSuccessStatusCode)
            {
                var reason = await ReadReasonAsync(response, limit.Token).ConfigureAwait(false);
                throw new ModelExchangeException($"SL node '{peer.Name}' ({uri.Authority}) answered {(int)response.StatusCode} to a ping: {reason}");
            }

            Answered(host, port);
        }
        catch (OperationCanceledException e) when (!cancellationToken.IsCancellationRequested)
        {
            throw new ModelExchangeException($"SL node '{peer.Name}' ({uri.Authority}) did not answer a ping within {timeout.TotalSeconds:0} s", e);
        }
        catch (HttpRequestException e)
        {
            throw new ModelExchangeException($"cannot reach SL node '{peer.Name}' ({uri.Authority}): {Describe(e)}", e);
        }
    }

    private void Answered(string host, int port) => _lastAnswer[Address(host, port)] = Time.GetTimestamp();

    /// <summary>How <see cref="LastAnswerFrom"/> names a peer's file server: <c>host:port</c> as the peer registered them.</summary>
    internal static string Address(string host, int port) => string.Create(CultureInfo.InvariantCulture, $"{host}:{port}");

    private static async Task<string> ReadReasonAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        var text = await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            using var json = JsonDocument.Parse(text);
            if (json.RootElement.ValueKind == JsonValueKind.Object && json.RootElement.TryGetProperty("message", out var message) && message.ValueKind == JsonValueKind.String)
            {
                return message.GetString()!;
            }
        }
        catch (JsonException)
        {
        }

        return text.Length == 0 ? response.ReasonPhrase ?? "no reason given" : text[..Math.Min(text.Length, 300)];
    }

    private static string Describe(HttpRequestException e)
    {
        var inner = e.InnerException is { } i ? $" ({i.Message})" : "";
        return e.HttpRequestError switch
        {
            HttpRequestError.SecureConnectionError =>
                $"the TLS handshake failed{inner}; the peer's certificate must be an SL identity of this swarm naming its registered host, and it must accept this node's",
            // With TLS 1.3 a server that refuses the client's certificate closes the connection after the handshake.
            HttpRequestError.ResponseEnded =>
                $"the peer closed the connection without answering{inner}; a peer that does not accept this node's certificate does that",
            _ => $"{e.Message}{inner}",
        };
    }

    /// <inheritdoc/>
    public void Dispose() => _http.Dispose();

    private static partial class Log
    {
        [LoggerMessage(300, LogLevel.Debug, "Fetched model {ModelHash} ({Size} bytes) from '{Peer}'")]
        public static partial void Fetched(ILogger logger, string modelHash, long size, string peer);

        [LoggerMessage(301, LogLevel.Warning, "The stored copy of model {ModelHash} is damaged ({Reason}); fetching it again")]
        public static partial void LocalCopyDamaged(ILogger logger, string modelHash, string reason);
    }
}
