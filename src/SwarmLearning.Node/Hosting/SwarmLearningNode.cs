using System.Diagnostics;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using SwarmLearning.Identity;
using SwarmLearning.Node.Channel;
using SwarmLearning.Node.Exchange;
using SwarmLearning.Node.Replica;
using SwarmLearning.Node.Rounds;
using SwarmLearning.Node.Storage;
using SwarmLearning.Safetensors;

namespace SwarmLearning.Node.Hosting;

/// <summary>
/// One SL node: its verified ledger replica and membership (<see cref="NetworkLedger"/>), its model store and HTTPS
/// exchange, and the local channel's session. Runs as a hosted service; the web host around it serves the file port
/// and the channel socket.
/// </summary>
public sealed partial class SwarmLearningNode : BackgroundService
{
    /// <summary>The file the final swarm model of a session is written to, in the model directory.</summary>
    public const string FinalModelName = "final.safetensors";

    private readonly ILogger _logger;
    private readonly bool _ownsIdentities;
    private int _stopped;

    private SwarmLearningNode(SwarmLearningNodeOptions options, IdentityHolder identities, bool ownsIdentities, NetworkLedger ledger, ModelStore store, HttpModelExchange exchange, ILoggerFactory loggerFactory, TimeProvider time)
    {
        Options = options;
        Identities = identities;
        _ownsIdentities = ownsIdentities;
        Ledger = ledger;
        Store = store;
        Exchange = exchange;
        Time = time;
        _logger = loggerFactory.CreateLogger<SwarmLearningNode>();
        FileServerLogger = loggerFactory.CreateLogger("SwarmLearning.Node.FileServer");
        ChannelLogger = loggerFactory.CreateLogger("SwarmLearning.Node.Channel");
        SessionLogger = loggerFactory.CreateLogger<SwarmSession>();
        Connections = new PeerConnections(ledger, exchange, loggerFactory.CreateLogger<PeerConnections>(), time);
        ServeSlots = new ServeSlots(options.MaxConcurrentServes);
    }

    /// <summary>The options it runs with.</summary>
    public SwarmLearningNodeOptions Options { get; }

    /// <summary>Its identity now (it changes when the node rotates to a new certificate).</summary>
    public SwarmIdentity Identity => Identities.Current;

    /// <summary>Its identity, and the one it is rotating to: the file server, the model exchange and the ledger share it.</summary>
    public IdentityHolder Identities { get; }

    /// <summary>Its view of the ledger.</summary>
    public NetworkLedger Ledger { get; }

    /// <summary>Its models, by hash.</summary>
    public ModelStore Store { get; }

    /// <summary>How it publishes and fetches models.</summary>
    public HttpModelExchange Exchange { get; }

    /// <summary>Keeps its connections to the peers' file servers open.</summary>
    internal PeerConnections Connections { get; }

    /// <summary>How many models its file server sends at once.</summary>
    internal ServeSlots ServeSlots { get; }

    /// <summary>Tests shorten how long the file server may take to send a model (by default, as long as a fetch may: <see cref="HttpModelExchange.FetchLimit"/>).</summary>
    internal TimeSpan? ServeLimitOverride { get; set; }

    /// <summary>How long waiting for a slot and sending a model of <paramref name="size"/> bytes may take together.</summary>
    internal TimeSpan ServeLimit(long size) => ServeLimitOverride ?? Exchange.FetchLimit(size);

    /// <summary>Where the final model of the last session that ended is written.</summary>
    public string FinalModelPath => Path.Combine(Options.ModelDirectory, FinalModelName);

    internal ChannelSessions Sessions { get; } = new();

    /// <summary>How long opening a session waits for this node to be on the ledger before answering 503.</summary>
    internal TimeSpan RegistrationWait { get; set; } = TimeSpan.FromSeconds(30);

    internal TimeProvider Time { get; }

    /// <summary>How often a session's waits log what they wait for (<see cref="SwarmSession.WaitLogInterval"/>); tests shorten it.</summary>
    internal TimeSpan SessionWaitLogInterval { get; set; } = TimeSpan.FromSeconds(5);

    internal ILogger FileServerLogger { get; }

    internal ILogger ChannelLogger { get; }

    internal ILogger SessionLogger { get; }

    /// <summary>
    /// Checks the options and the identity, creates the data directory (mode 0700) and opens the ledger replica
    /// (verifying every stored block) and the model store. Nothing talks to the network until the service runs.
    /// </summary>
    public static SwarmLearningNode Open(SwarmLearningNodeOptions options, SwarmIdentity identity, SwarmTrust trust, ILoggerFactory loggerFactory, TimeProvider? time = null)
    {
        ArgumentNullException.ThrowIfNull(identity);
        return Open(options, new IdentityHolder(identity), ownsIdentities: true, trust, loggerFactory, time);
    }

    /// <summary>
    /// As <see cref="Open(SwarmLearningNodeOptions, SwarmIdentity, SwarmTrust, ILoggerFactory, TimeProvider?)"/>, with the
    /// identity in a holder the caller owns and disposes after the node.
    /// </summary>
    public static SwarmLearningNode Open(SwarmLearningNodeOptions options, IdentityHolder identities, SwarmTrust trust, ILoggerFactory loggerFactory, TimeProvider? time = null) =>
        Open(options, identities, ownsIdentities: false, trust, loggerFactory, time);

    private static SwarmLearningNode Open(SwarmLearningNodeOptions options, IdentityHolder identities, bool ownsIdentities, SwarmTrust trust, ILoggerFactory loggerFactory, TimeProvider? time)
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
        if (identity.Role != SwarmRole.Sl)
        {
            throw new SwarmException($"'{identity.Name}' is a {SwarmRoles.ToName(identity.Role)} identity; an SL node needs one issued with --role sl");
        }

        time ??= TimeProvider.System;
        CreatePrivateDirectory(options.DataDirectory);
        // The replica's store is locked for one process: once it is open, this node owns the directory, and the
        // temporary files an earlier run left in it (a crash mid-transfer) can go.
        var files = options.CertificateFile is { } certificate && options.KeyFile is { } key ? new IdentityFiles(certificate, key) : null;
        var ledger = NetworkLedger.Open(options.LedgerDirectory, options.SwarmNetworkUri, identities, trust, options.Host, options.FilePort, loggerFactory, time, files);
        ModelStore store;
        try
        {
            store = new ModelStore(options.ModelDirectory);
            ChannelModels.DeleteLeftovers(store.Directory);
        }
        catch
        {
#pragma warning disable VSTHRD002 // start-up failure, before the host runs
            ledger.DisposeAsync().AsTask().GetAwaiter().GetResult();
#pragma warning restore VSTHRD002
            throw;
        }

        var exchange = new HttpModelExchange(store, identities, trust, loggerFactory.CreateLogger<HttpModelExchange>()) { MaxModelBytes = options.MaxModelBytes, Time = time };
        return new SwarmLearningNode(options, identities, ownsIdentities, ledger, store, exchange, loggerFactory, time);
    }

    /// <summary>Writes a session's final model to <see cref="FinalModelPath"/> (whole or not at all) and logs its hash.</summary>
    internal async Task SaveFinalModelAsync(SyncResult result, CancellationToken cancellationToken)
    {
        var path = FinalModelPath;
        var hash = await Task.Run(() =>
        {
            if (ModelHash.IsValid(result.Hash) && Store.OpenRead(result.Hash) is { } stored)
            {
                // The exact bytes whose hash the ledger records, flushed to disk: the final model must survive a
                // machine crash.
                var temp = path + ".tmp";
                using (stored)
                using (var copy = new FileStream(temp, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 20))
                {
                    stored.CopyTo(copy, 1 << 20);
                    copy.Flush(flushToDisk: true);
                }

                File.Move(temp, path, overwrite: true);
                return result.Hash;
            }

            return SafetensorsWriter.Write(path, result.Model).Hash;
        }, cancellationToken).ConfigureAwait(false);
        Log.FinalModel(_logger, path, hash, result.Round);
    }

    /// <inheritdoc/>
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        Log.Starting(_logger, Identity.Name, Identity.Fingerprint.Short, Options.ListenAddress, Options.FilePort, Options.Host, Options.EffectiveSocketPath, Ledger.SnAddress);
        using var stopHelpers = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
        var connections = Connections.RunAsync(stopHelpers.Token);
        var warmUp = Task.Run(() => WarmUp(stopHelpers.Token), CancellationToken.None);
        try
        {
            // The node's life is its replica's: when that loop ends (stopped, or failed for good), so does the node.
            await Ledger.RunAsync(stoppingToken).ConfigureAwait(false);
        }
        finally
        {
            await stopHelpers.CancelAsync().ConfigureAwait(false);
            await connections.ConfigureAwait(false);
            await warmUp.ConfigureAwait(false);
        }
    }

    /// <summary>Compiles the leader's code path in the background (<see cref="LeaderWarmUp"/>); a failure costs only speed.</summary>
    private void WarmUp(CancellationToken cancellationToken)
    {
        var started = Stopwatch.GetTimestamp();
        try
        {
            if (!LeaderWarmUp.Run(cancellationToken))
            {
                Log.StreamingMeanDiffers(_logger);
            }

            Log.WarmedUp(_logger, Stopwatch.GetElapsedTime(started).TotalSeconds);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
#pragma warning disable CA1031 // a warm-up that fails must not stop the node: its code compiles on first use instead
        catch (Exception e)
#pragma warning restore CA1031
        {
            Log.WarmUpFailed(_logger, e.Message);
        }
    }

    /// <inheritdoc/>
    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await Sessions.DisposeAsync().ConfigureAwait(false);
        await base.StopAsync(cancellationToken).ConfigureAwait(false);
        await CloseAsync().ConfigureAwait(false);
    }

    /// <inheritdoc/>
    public override void Dispose()
    {
        base.Dispose();
#pragma warning disable VSTHRD002 // Dispose is synchronous by contract; closing only releases files and sockets
        CloseAsync().GetAwaiter().GetResult();
#pragma warning restore VSTHRD002
    }

    private async Task CloseAsync()
    {
        if (Interlocked.Exchange(ref _stopped, 1) != 0)
        {
            return;
        }

        Exchange.Dispose();
        await Ledger.DisposeAsync().ConfigureAwait(false);
        if (_ownsIdentities)
        {
            Identities.Dispose();
        }
    }

    /// <summary>Creates the data directory readable by this user only (it holds the socket and the models).</summary>
    internal static void CreatePrivateDirectory(string path)
    {
        try
        {
            if (!Directory.Exists(path))
            {
                if (OperatingSystem.IsWindows())
                {
                    Directory.CreateDirectory(path);
                }
                else
                {
                    Directory.CreateDirectory(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
                }
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new SwarmException($"{path}: cannot create the SL node's data directory: {e.Message}", e);
        }
    }

    private static partial class Log
    {
        [LoggerMessage(600, LogLevel.Information, "SL node '{Name}' ({Fingerprint}) starting: file server on {Address}:{FilePort} (peers reach it as {Host}), local channel {Socket}, SN {Sn}")]
        public static partial void Starting(ILogger logger, string name, string fingerprint, string address, int filePort, string host, string socket, string sn);

        [LoggerMessage(602, LogLevel.Debug, "Compiled the leader's code path in {Seconds:0.00} s")]
        public static partial void WarmedUp(ILogger logger, double seconds);

        [LoggerMessage(603, LogLevel.Warning, "Could not compile the leader's code path ahead of time ({Reason}); it compiles when this node first leads")]
        public static partial void WarmUpFailed(ILogger logger, string reason);

        [LoggerMessage(604, LogLevel.Warning, "On this machine the leader's streaming mean differs from the merge engine's in the last bits: merged models are still means of the submissions, but 'swarm merge' will not reproduce their hashes. This is a bug in SwarmLearning; please report it with the CPU model")]
        public static partial void StreamingMeanDiffers(ILogger logger);

        [LoggerMessage(601, LogLevel.Information, "Final swarm model (round {Round}) written to {Path}: model hash {Hash}")]
        public static partial void FinalModel(ILogger logger, string path, string hash, long round);
    }
}
