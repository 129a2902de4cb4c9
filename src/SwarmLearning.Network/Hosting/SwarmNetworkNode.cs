using System.Text.Json;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using SwarmLearning.Identity;
using SwarmLearning.Ledger.Chain;
using SwarmLearning.Ledger.Ordering;
using SwarmLearning.Ledger.Transactions;
using SwarmLearning.Network.Peer;

namespace SwarmLearning.Network.Hosting;

/// <summary>
/// One SN: its ledger copy, its orderer (the embedded one on the sentinel, forwarding to the sentinel elsewhere), block
/// replication from an upstream SN, and its own membership (registration and heartbeats). Runs as a hosted service.
/// </summary>
public sealed partial class SwarmNetworkNode : BackgroundService
{
    private readonly ILogger _logger;
    private readonly ILoggerFactory _loggerFactory;
    private readonly TimeProvider _time;
    private readonly Lock _sequenceLock = new();
    private readonly bool _ownsIdentities;
    private readonly IdentityRotation? _rotation;
    private ulong _lastSequence;
    private Fingerprint _sequenceOf;
    private ITransactionOrderer? _orderer;
    private Replicator? _replicator;
    private int _disposed;

    private SwarmNetworkNode(SwarmNetworkOptions options, IdentityHolder identities, bool ownsIdentities, SwarmTrust trust, LedgerChain chain, ILoggerFactory loggerFactory, TimeProvider time)
    {
        Options = options;
        Identities = identities;
        _ownsIdentities = ownsIdentities;
        Trust = trust;
        Chain = chain;
        _loggerFactory = loggerFactory;
        _logger = loggerFactory.CreateLogger<SwarmNetworkNode>();
        AdmissionLogger = loggerFactory.CreateLogger("SwarmLearning.Network.Admission");
        _time = time;
        if (options.CertificateFile is { } certificate && options.KeyFile is { } key)
        {
            _rotation = new IdentityRotation(identities, new IdentityFiles(certificate, key), trust, loggerFactory.CreateLogger<IdentityRotation>(), time);
        }
    }

    /// <summary>The options it runs with.</summary>
    public SwarmNetworkOptions Options { get; }

    /// <summary>Its identity now (it changes when the node rotates to a new certificate).</summary>
    public SwarmIdentity Identity => Identities.Current;

    /// <summary>Its identity, and the one it is rotating to.</summary>
    public IdentityHolder Identities { get; }

    /// <summary>The CA certificates it trusts for TLS (and requires genesis to trust).</summary>
    public SwarmTrust Trust { get; }

    /// <summary>Its copy of the ledger.</summary>
    public LedgerChain Chain { get; }

    /// <summary>Where refused clients are logged.</summary>
    internal ILogger AdmissionLogger { get; }

    /// <summary>Completes when the node has the genesis block and can serve the API.</summary>
#pragma warning disable VSTHRD003 // a signal owned by this node, completed by its own start-up
    public Task Ready => _ready.Task;
#pragma warning restore VSTHRD003

    private readonly TaskCompletionSource _ready = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>The orderer transactions go to, once the node has started.</summary>
    internal ITransactionOrderer Orderer => _orderer ?? throw new InvalidOperationException("the SN has not started yet");

    /// <summary>
    /// Opens (and verifies) the ledger in the data directory; the sentinel creates the genesis block on first start.
    /// Throws a <see cref="SwarmException"/> naming the problem (a modified chain, another swarm's ledger).
    /// </summary>
    public static SwarmNetworkNode Open(SwarmNetworkOptions options, SwarmIdentity identity, SwarmTrust trust, ILoggerFactory loggerFactory, TimeProvider? time = null)
    {
        ArgumentNullException.ThrowIfNull(identity);
        return Open(options, new IdentityHolder(identity), ownsIdentities: true, trust, loggerFactory, time);
    }

    /// <summary>
    /// As <see cref="Open(SwarmNetworkOptions, SwarmIdentity, SwarmTrust, ILoggerFactory, TimeProvider?)"/>, with the
    /// identity in a holder the caller shares (with Kestrel, <see cref="SwarmTls.ConfigureServer(Microsoft.AspNetCore.Server.Kestrel.Https.HttpsConnectionAdapterOptions, IdentityHolder, SwarmTrust, ILogger?)"/>)
    /// and disposes.
    /// </summary>
    public static SwarmNetworkNode Open(SwarmNetworkOptions options, IdentityHolder identities, SwarmTrust trust, ILoggerFactory loggerFactory, TimeProvider? time = null) =>
        Open(options, identities, ownsIdentities: false, trust, loggerFactory, time);

    private static SwarmNetworkNode Open(SwarmNetworkOptions options, IdentityHolder identities, bool ownsIdentities, SwarmTrust trust, ILoggerFactory loggerFactory, TimeProvider? time)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(identities);
        ArgumentNullException.ThrowIfNull(trust);
        ArgumentNullException.ThrowIfNull(loggerFactory);
        var errors = options.Validate();
        if (errors.Count > 0)
        {
            throw new SwarmException(string.Join("; ", errors));
        }

        var identity = identities.Current;
        if (identity.Role != SwarmRole.Sn)
        {
            throw new SwarmException($"'{identity.Name}' is a {SwarmRoles.ToName(identity.Role)} identity; an SN needs one issued with --role sn");
        }

        time ??= TimeProvider.System;
        var chain = LedgerChain.Open(options.DataDirectory, trust, loggerFactory.CreateLogger<LedgerChain>());
        try
        {
            if (chain.Height < 0 && options.Sentinel)
            {
                var administrators = options.Administrators.Select(a => Fingerprint.TryParse(a, out var f)
                    ? f
                    : throw new SwarmException($"administrator '{a}' is not a certificate fingerprint (64 hex digits; see 'swarm certs show FILE')")).ToList();
                var genesis = Genesis.Create(identity, options.SwarmName, trust.Authorities, administrators, options.Defaults, options.Host, options.ApiPort, options.PeerPort, time.GetUtcNow(), options.Enrolled);
#pragma warning disable VSTHRD002 // start-up, before the host runs: no synchronization context to deadlock on
                chain.AppendAsync(genesis).GetAwaiter().GetResult();
#pragma warning restore VSTHRD002
            }

            if (chain.State is { } state && options.Sentinel && state.Orderer != identity.Fingerprint)
            {
                throw new SwarmException($"{options.DataDirectory} holds a ledger whose sentinel is '{state.Members[state.Orderer].Name}', not '{identity.Name}'; start this SN without --sentinel, or with its own data directory");
            }

            return new SwarmNetworkNode(options, identities, ownsIdentities, trust, chain, loggerFactory, time);
        }
        catch
        {
#pragma warning disable VSTHRD002 // start-up failure, before the host runs
            chain.DisposeAsync().AsTask().GetAwaiter().GetResult();
#pragma warning restore VSTHRD002
            throw;
        }
    }

    /// <summary>
    /// Enrols an identity as this SN (<c>member.enrol</c>): from the block that records it, the identity may connect and
    /// register. Only an administrator's enrolment is accepted, so this works on the sentinel and on SNs whose identity
    /// genesis names as an administrator; otherwise it throws <see cref="Ledger.Contracts.TransactionRejectedException"/>.
    /// </summary>
    public async Task<TransactionReceipt> EnrolAsync(EnrolPayload enrolment, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(enrolment);
        await Ready.WaitAsync(cancellationToken).ConfigureAwait(false);
        return await SubmitOwnAsync(TransactionTypes.Enrol, enrolment, PayloadJson.Default.EnrolPayload, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Revokes a member or an enrolled identity as this SN (<c>member.revoke</c>), for good: from the block that records
    /// it, every SN refuses its requests. Needs an administrator, as <see cref="EnrolAsync"/> does.
    /// </summary>
    public async Task<TransactionReceipt> RevokeAsync(Fingerprint member, string? reason, CancellationToken cancellationToken = default)
    {
        await Ready.WaitAsync(cancellationToken).ConfigureAwait(false);
        return await SubmitOwnAsync(TransactionTypes.Revoke, new RevokePayload { Member = member.ToString(), Reason = reason }, PayloadJson.Default.RevokePayload, cancellationToken)
            .ConfigureAwait(false);
    }

    /// <summary>Signs a transaction from this SN with its next sequence number and orders it.</summary>
    internal Task<TransactionReceipt> SubmitOwnAsync<T>(string type, T payload, System.Text.Json.Serialization.Metadata.JsonTypeInfo<T> json, CancellationToken cancellationToken)
    {
        ulong sequence;
        var identity = Identity;
        lock (_sequenceLock)
        {
            if (_sequenceOf != identity.Fingerprint)
            {
                // A new identity (after a rotation) is a new sender: its numbers start again.
                _sequenceOf = identity.Fingerprint;
                _lastSequence = 0;
            }

            var recorded = Chain.State?.Sequences.GetValueOrDefault(identity.Fingerprint) ?? 0;
            _lastSequence = Math.Max(_lastSequence, recorded) + 1;
            sequence = _lastSequence;
        }

        var tx = Transaction.Create(identity, Chain.ChainId.Span, type, sequence, JsonSerializer.SerializeToUtf8Bytes(payload, json));
        return Orderer.SubmitAsync(tx, cancellationToken);
    }

    /// <inheritdoc/>
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        Log.Starting(_logger, Identity.Name, Options.Sentinel ? "sentinel" : "follower", Options.ListenAddress, Options.ApiPort, Options.PeerPort, Options.DataDirectory, Chain.Height);
        if (Chain.State is { Genesis.RequireEnrolment: false } legacy)
        {
            Log.OpenAdmission(_logger, legacy.Genesis.Swarm);
        }

        var tasks = new List<Task>();
        if (Options.Sentinel)
        {
            var orderer = new EmbeddedOrderer(Chain, Identities, _time, _loggerFactory.CreateLogger<EmbeddedOrderer>());
            _orderer = orderer;
            _ready.TrySetResult();
            try
            {
                await MembershipLoopAsync(stoppingToken).ConfigureAwait(false);
            }
            finally
            {
                await orderer.DisposeAsync().ConfigureAwait(false);
            }

            return;
        }

        var tlsLogger = _loggerFactory.CreateLogger("SwarmLearning.Network.Tls");
        using var http = new IdentityHttpClient(Identities, identity => PeerHttp.CreateClient(identity, Trust, tlsLogger));
        _replicator = new Replicator(Chain, Identities, http, Options, _loggerFactory.CreateLogger<Replicator>());
        _orderer = new ForwardingOrderer(Chain, http, Options.SubmitTimeout, _loggerFactory.CreateLogger<ForwardingOrderer>());
        tasks.Add(_replicator.RunAsync(stoppingToken));
        tasks.Add(Task.Run(async () =>
        {
            await Chain.WaitForHeightAsync(0, stoppingToken).ConfigureAwait(false);
            _ready.TrySetResult();
            await MembershipLoopAsync(stoppingToken).ConfigureAwait(false);
        }, stoppingToken));
        try
        {
            await Task.WhenAll(tasks).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    /// <summary>Registers this SN (again, when its addresses changed) and heartbeats at the swarm's interval.</summary>
    private async Task MembershipLoopAsync(CancellationToken stop)
    {
        var failures = 0;
        while (!stop.IsCancellationRequested)
        {
            var state = Chain.State!;
            var interval = Options.HeartbeatInterval > TimeSpan.Zero ? Options.HeartbeatInterval : TimeSpan.FromSeconds(state.Defaults.HeartbeatIntervalSeconds);
            try
            {
                if (_rotation is not null)
                {
                    await _rotation.PollAsync(() => Chain.State, SubmitRotationAsync, stop).ConfigureAwait(false);
                    state = Chain.State!;
                }

                if (!state.Members.TryGetValue(Identity.Fingerprint, out var me) || me.Host != Options.Host || me.ApiPort != Options.ApiPort || me.PeerPort != Options.PeerPort)
                {
                    var receipt = await SubmitOwnAsync(TransactionTypes.Register, new RegisterPayload
                    {
                        Role = SwarmRoles.ToName(SwarmRole.Sn),
                        Name = Identity.Name,
                        Certificate = Convert.ToBase64String(Identity.Certificate.RawData),
                        Host = Options.Host,
                        ApiPort = Options.ApiPort,
                        PeerPort = Options.PeerPort,
                    }, PayloadJson.Default.RegisterPayload, stop).ConfigureAwait(false);
                    Log.Registered(_logger, Identity.Name, receipt.Height);
                }
                else
                {
                    await SubmitOwnAsync(TransactionTypes.Heartbeat, new EmptyPayload(), PayloadJson.Default.EmptyPayload, stop).ConfigureAwait(false);
                }

                if (failures > 0)
                {
                    Log.HeartbeatRecovered(_logger, failures);
                }

                failures = 0;
            }
            catch (OperationCanceledException) when (stop.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e) when (e is SwarmException or TimeoutException)
            {
                // A slow or unreachable sentinel (the forwarding orderer's TimeoutException) must not end the loop: the
                // next heartbeat tries again.
                failures++;
                Log.HeartbeatFailed(_logger, failures, e.Message);
            }

            await Task.Delay(interval, _time, stop).ConfigureAwait(false);
        }
    }

    private Task SubmitRotationAsync(RotatePayload payload, CancellationToken cancellationToken) =>
        SubmitOwnAsync(TransactionTypes.Rotate, payload, PayloadJson.Default.RotatePayload, cancellationToken);

    /// <inheritdoc/>
    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await base.StopAsync(cancellationToken).ConfigureAwait(false);
        await Chain.DisposeAsync().ConfigureAwait(false);
    }

    /// <inheritdoc/>
    public override void Dispose()
    {
        base.Dispose();
#pragma warning disable VSTHRD002 // Dispose is synchronous by contract; the chain's disposal only closes a file
        Chain.DisposeAsync().AsTask().GetAwaiter().GetResult();
#pragma warning restore VSTHRD002
        if (_ownsIdentities && Interlocked.Exchange(ref _disposed, 1) == 0)
        {
            Identities.Dispose();
        }
    }

    private static partial class Log
    {
        [LoggerMessage(1, LogLevel.Information, "SN '{Name}' starting as {Mode} on {Address} (API port {ApiPort}, peer port {PeerPort}), ledger {Directory} at height {Height}")]
        public static partial void Starting(ILogger logger, string name, string mode, string address, int apiPort, int peerPort, string directory, long height);

        [LoggerMessage(2, LogLevel.Information, "SN '{Name}' registered on the ledger in block {Height}")]
        public static partial void Registered(ILogger logger, string name, long height);

        [LoggerMessage(3, LogLevel.Warning, "Heartbeat failed ({Failures} in a row): {Reason}")]
        public static partial void HeartbeatFailed(ILogger logger, int failures, string reason);

        [LoggerMessage(4, LogLevel.Information, "Heartbeats go through again after {Failures} failure(s)")]
        public static partial void HeartbeatRecovered(ILogger logger, int failures);

        [LoggerMessage(5, LogLevel.Warning, "Swarm '{Swarm}' was created before enrolment existed: it admits every identity of its CAs that is not revoked. Start a new swarm to admit enrolled identities only")]
        public static partial void OpenAdmission(ILogger logger, string swarm);
    }
}
