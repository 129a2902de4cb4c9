using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Runtime.CompilerServices;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using SwarmLearning.Identity;
using SwarmLearning.Ledger.Blocks;
using SwarmLearning.Ledger.Contracts;
using SwarmLearning.Ledger.Serialization;
using SwarmLearning.Ledger.Ordering;
using SwarmLearning.Ledger.Transactions;
using SwarmLearning.Network.Api;
using SwarmLearning.Network.Peer;

namespace SwarmLearning.Network.Client;

/// <summary>
/// A client of one SN's API, with a component's identity: mutual TLS against the swarm's CA, transactions signed with
/// the identity's key and numbered with its next sequence number. Used by SL nodes, <c>swarm ctl</c>, SWOP, tests and
/// benchmarks. Errors from the SN surface as <see cref="TransactionRejectedException"/> (refused transactions) or
/// <see cref="SwarmException"/> (anything else), with the SN's message.
/// </summary>
public sealed partial class SwarmNetworkClient : IDisposable
{
    private readonly IdentityHolder _identity;
    private readonly IdentityHttpClient _clients;
    private readonly SemaphoreSlim _sequenceLock = new(1, 1);
    private readonly SemaphoreSlim _submitLock = new(1, 1);
    private ulong _lastSequence;
    private bool _sequenceKnown;
    private Fingerprint _sequenceOf;
    private byte[]? _chainId;

    /// <summary>A client of the SN whose API is at <paramref name="apiAddress"/> (for example <c>https://sn1:30304</c>).</summary>
    public SwarmNetworkClient(Uri apiAddress, SwarmIdentity identity, SwarmTrust trust)
        : this(apiAddress, new IdentityHolder(identity ?? throw new ArgumentNullException(nameof(identity))), trust)
    {
    }

    /// <summary>
    /// A client of the SN at <paramref name="apiAddress"/> that signs with, and connects as, whatever identity
    /// <paramref name="identity"/> holds at the time (a node that rotates its certificate without a restart). The
    /// caller owns the holder.
    /// </summary>
    public SwarmNetworkClient(Uri apiAddress, IdentityHolder identity, SwarmTrust trust)
    {
        ArgumentNullException.ThrowIfNull(apiAddress);
        ArgumentNullException.ThrowIfNull(identity);
        ArgumentNullException.ThrowIfNull(trust);
        _identity = identity;
        _clients = new IdentityHttpClient(identity, current =>
        {
            var http = PeerHttp.CreateClient(current, trust);
            http.BaseAddress = apiAddress;
            return http;
        });
        Address = apiAddress;
    }

    /// <summary>The SN's API address.</summary>
    public Uri Address { get; }

    /// <summary>The identity this client signs with now.</summary>
    public SwarmIdentity Identity => _identity.Current;

    private HttpClient Http => _clients.Current;

    /// <summary>How long one request may take (long polls add their wait).</summary>
    public TimeSpan RequestTimeout { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>The SN's status: swarm, height, head hash, orderer.</summary>
    public Task<StatusView> GetStatusAsync(CancellationToken cancellationToken = default) => GetAsync<StatusView>("/v1/status", cancellationToken);

    /// <summary>The members.</summary>
    public Task<List<MemberView>> GetMembersAsync(CancellationToken cancellationToken = default) => GetAsync<List<MemberView>>("/v1/members", cancellationToken);

    /// <summary>The enrolled identities, revoked ones included.</summary>
    public Task<List<EnrolmentView>> GetEnrolmentsAsync(CancellationToken cancellationToken = default) => GetAsync<List<EnrolmentView>>("/v1/enrolments", cancellationToken);

    /// <summary>The whole contract state as JSON.</summary>
    public Task<JsonElement> GetStateAsync(CancellationToken cancellationToken = default) => GetAsync<JsonElement>("/v1/state", cancellationToken);

    /// <summary>A training contract as JSON.</summary>
    public Task<JsonElement> GetContractAsync(string name, CancellationToken cancellationToken = default) =>
        GetAsync<JsonElement>($"/v1/contracts/{Uri.EscapeDataString(name)}", cancellationToken);

    /// <summary>Blocks from a height on.</summary>
    public Task<List<BlockView>> GetBlocksAsync(long from, int limit = 100, CancellationToken cancellationToken = default) =>
        GetAsync<List<BlockView>>($"/v1/blocks?from={from}&limit={limit}", cancellationToken);

    /// <summary>Events from a height on; waits up to <paramref name="wait"/> for some to happen (long poll).</summary>
    public Task<EventBatch> GetEventsAsync(long from, TimeSpan wait, CancellationToken cancellationToken = default) =>
        GetAsync<EventBatch>($"/v1/events?from={from}&wait={wait.TotalSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture)}", cancellationToken, wait);

    /// <summary>
    /// Streams blocks from height <paramref name="from"/> on (<c>GET /v1/blocks/stream</c>): those the SN holds, then
    /// new ones as they are appended, until the SN ends the response after <paramref name="wait"/> without a new block.
    /// The blocks are only framed, not verified: the caller verifies each (<c>LedgerChain.AppendAsync</c>). An SN that
    /// cannot be reached or refuses throws <see cref="SwarmException"/>; one that goes silent for
    /// <paramref name="wait"/> plus <see cref="RequestTimeout"/> too; a stream cut short throws <see cref="IOException"/>.
    /// </summary>
    public async IAsyncEnumerable<Block> StreamBlocksAsync(long from, TimeSpan wait, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var path = $"/v1/blocks/stream?from={Math.Max(0, from)}&wait={(long)Math.Ceiling(Math.Max(0, wait.TotalSeconds))}";
        var silence = wait + RequestTimeout;
        using var idle = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        idle.CancelAfter(silence);
        HttpResponseMessage response;
        try
        {
            response = await Http.GetAsync(path, HttpCompletionOption.ResponseHeadersRead, idle.Token).ConfigureAwait(false);
        }
        catch (HttpRequestException e)
        {
            throw Unreachable(e);
        }
        catch (OperationCanceledException e) when (!cancellationToken.IsCancellationRequested)
        {
            throw new SwarmException($"the SN at {Address} did not answer GET /v1/blocks/stream within {silence.TotalSeconds:0} s", e);
        }

        using (response)
        {
            if (!response.IsSuccessStatusCode)
            {
                var error = await ReadErrorAsync(response, cancellationToken).ConfigureAwait(false);
                throw new SwarmException($"the SN at {Address} answered {(int)response.StatusCode} to GET /v1/blocks/stream: {error.Message}");
            }

            var stream = await response.Content.ReadAsStreamAsync(idle.Token).ConfigureAwait(false);
            await using (stream.ConfigureAwait(false))
            {
                while (true)
                {
                    byte[]? bytes;
                    try
                    {
                        bytes = await BlockStream.ReadAsync(stream, idle.Token).ConfigureAwait(false);
                    }
                    catch (OperationCanceledException e) when (!cancellationToken.IsCancellationRequested)
                    {
                        throw new SwarmException($"the SN at {Address} sent nothing on its block stream for {silence.TotalSeconds:0} s", e);
                    }

                    if (bytes is null)
                    {
                        yield break;
                    }

                    idle.CancelAfter(silence);
                    yield return Block.Decode(bytes);
                }
            }
        }
    }

    /// <summary>
    /// Signs a transaction with this client's identity and next sequence number, and submits it. Calls from several
    /// threads are taken one at a time.
    /// </summary>
    public async Task<TransactionReceipt> SubmitAsync<T>(string type, T payload, JsonTypeInfo<T> json, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(json);
        var body = JsonSerializer.SerializeToUtf8Bytes(payload, json);

        // One submission at a time per identity: two in flight could reach the orderer out of order, and the later
        // number would make the earlier one a "replay".
        await _submitLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            for (var attempt = 0; ; attempt++)
            {
                var tx = await CreateAsync(type, body, cancellationToken).ConfigureAwait(false);
                try
                {
                    return await SubmitAsync(tx, cancellationToken).ConfigureAwait(false);
                }
                catch (TransactionRejectedException e) when (e.Kind == RejectionKind.Replay && attempt == 0)
                {
                    // Another process with this identity (or a restart) used the numbers; learn the last one and retry once.
                    _sequenceKnown = false;
                }
            }
        }
        finally
        {
            _submitLock.Release();
        }
    }

    /// <summary>Signs a transaction with this identity's next sequence number, without submitting it.</summary>
    public async Task<Transaction> CreateAsync(string type, ReadOnlyMemory<byte> payload, CancellationToken cancellationToken = default)
    {
        await _sequenceLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var identity = Identity;
            if (_sequenceOf != identity.Fingerprint)
            {
                // Another identity (the node rotated its certificate) is another sender, with numbers of its own.
                _sequenceOf = identity.Fingerprint;
                _lastSequence = 0;
                _sequenceKnown = false;
            }

            if (_chainId is null || !_sequenceKnown)
            {
                var status = await GetStatusAsync(cancellationToken).ConfigureAwait(false);
                _chainId = Convert.FromHexString(status.ChainId);
                var seq = await GetAsync<SequenceView>($"/v1/sequences/{identity.Fingerprint}", cancellationToken).ConfigureAwait(false);
                _lastSequence = Math.Max(_lastSequence, seq.Last);
                _sequenceKnown = true;
            }

            _lastSequence++;
            return Transaction.Create(identity, _chainId, type, _lastSequence, payload.Span);
        }
        finally
        {
            _sequenceLock.Release();
        }
    }

    /// <summary>Submits a signed transaction; completes when it is in a block on this SN.</summary>
    public async Task<TransactionReceipt> SubmitAsync(Transaction transaction, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(transaction);
        using var content = new ReadOnlyMemoryContent(transaction.Encoded);
        content.Headers.ContentType = new MediaTypeHeaderValue(ForwardingOrderer.TransactionContentType);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(RequestTimeout);
        HttpResponseMessage response;
        try
        {
            response = await Http.PostAsync("/v1/transactions", content, timeout.Token).ConfigureAwait(false);
        }
        catch (HttpRequestException e)
        {
            throw Unreachable(e);
        }
        catch (OperationCanceledException e) when (!cancellationToken.IsCancellationRequested)
        {
            throw new SwarmException($"the SN at {Address} did not answer within {RequestTimeout.TotalSeconds:0} s", e);
        }

        using (response)
        {
            if (response.IsSuccessStatusCode)
            {
                return await response.Content.ReadFromJsonAsync<TransactionReceipt>(LedgerJson.Options, cancellationToken).ConfigureAwait(false)
                    ?? throw new SwarmException($"the SN at {Address} answered with an empty receipt");
            }

            var error = await ReadErrorAsync(response, cancellationToken).ConfigureAwait(false);
            if (ApiError.TryParseKind(error.Error, out var kind))
            {
                throw new TransactionRejectedException(kind, error.Message);
            }

            throw new SwarmException($"the SN at {Address} refused {transaction.Type}: {error.Message}");
        }
    }

    private async Task<T> GetAsync<T>(string path, CancellationToken cancellationToken, TimeSpan extra = default)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(RequestTimeout + extra);
        try
        {
            using var response = await Http.GetAsync(path, timeout.Token).ConfigureAwait(false);
            if (!response.IsSuccessStatusCode)
            {
                var error = await ReadErrorAsync(response, cancellationToken).ConfigureAwait(false);
                throw new SwarmException($"the SN at {Address} answered {(int)response.StatusCode} to GET {path}: {error.Message}");
            }

            return await response.Content.ReadFromJsonAsync<T>(LedgerJson.Options, timeout.Token).ConfigureAwait(false)
                ?? throw new SwarmException($"the SN at {Address} answered GET {path} with nothing");
        }
        catch (HttpRequestException e)
        {
            throw Unreachable(e);
        }
        catch (OperationCanceledException e) when (!cancellationToken.IsCancellationRequested)
        {
            throw new SwarmException($"the SN at {Address} did not answer GET {path} within {(RequestTimeout + extra).TotalSeconds:0} s", e);
        }
    }

    private static async Task<ApiError> ReadErrorAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        var text = await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            return JsonSerializer.Deserialize<ApiError>(text, LedgerJson.Options) ?? new ApiError("unknown", text);
        }
        catch (JsonException)
        {
            return new ApiError("unknown", $"{(int)response.StatusCode} {response.ReasonPhrase}: {text}");
        }
    }

    private SwarmException Unreachable(HttpRequestException e) =>
        new($"cannot reach the SN at {Address}: {e.Message}{(e.InnerException is { } inner ? $" ({inner.Message})" : "")}; check the address, that the SN runs, and that this identity's CA is the swarm's", e);

    /// <inheritdoc/>
    public void Dispose()
    {
        _clients.Dispose();
        _sequenceLock.Dispose();
        _submitLock.Dispose();
    }
}
