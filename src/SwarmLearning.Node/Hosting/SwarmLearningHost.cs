using System.Net;
using System.Net.Sockets;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.AspNetCore.Server.Kestrel.Transport.Sockets;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using SwarmLearning.Network.Hosting;
using SwarmLearning.Identity;
using SwarmLearning.Node.Channel;
using SwarmLearning.Node.Exchange;

namespace SwarmLearning.Node.Hosting;

/// <summary>
/// Hosting an SL node in ASP.NET Core: Kestrel with mutual TLS on the file port (models, for peers) and plain HTTP on
/// a Unix socket of mode 0600 (the local channel, for the ML program), the endpoints, the node service.
/// </summary>
public static partial class SwarmLearningHost
{
    /// <summary>The largest JSON body the local channel takes; model calls have their own limit, <see cref="SwarmLearningNodeOptions.MaxModelBytes"/>.</summary>
    internal const long MaxJsonBody = 1024 * 1024;

    /// <summary>
    /// Adds the SL node: its service (the ledger replica opens when the service is first resolved, at the latest by
    /// <see cref="MapSwarmLearningNode"/>), Kestrel on the file port with client certificates required, and the
    /// channel socket. A stale socket file from an earlier run is deleted; a live one (another node) is refused.
    /// </summary>
    public static WebApplicationBuilder AddSwarmLearningNode(this WebApplicationBuilder builder, SwarmLearningNodeOptions options, SwarmIdentity identity, SwarmTrust trust)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(identity);
        ArgumentNullException.ThrowIfNull(trust);
        var errors = options.Validate();
        if (errors.Count > 0)
        {
            throw new SwarmException(string.Join("; ", errors));
        }

        var socketPath = options.EffectiveSocketPath;
        builder.Services.AddSingleton(sp => SwarmLearningNode.Open(options, identity, trust, sp.GetRequiredService<ILoggerFactory>(), sp.GetService<TimeProvider>()));
        builder.Services.AddHostedService(sp => sp.GetRequiredService<SwarmLearningNode>());
        builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = TimeSpan.FromSeconds(10));
        builder.Services.Configure<RouteHandlerOptions>(o => o.ThrowOnBadRequest = true);
        builder.Services.AddPeerRateLimiter(_ => options.RequestsPerPeer, options.RequestWindow);
        builder.WebHost.UseSockets(sockets => sockets.CreateBoundListenSocket = endpoint =>
        {
            var socket = SocketTransportOptions.CreateDefaultBoundListenSocket(endpoint);
            if (endpoint is UnixDomainSocketEndPoint && !OperatingSystem.IsWindows())
            {
                // Bound but not yet listening: nobody can connect before only this user may.
                File.SetUnixFileMode(socketPath, UnixFileMode.UserRead | UnixFileMode.UserWrite);
            }

            return socket;
        });
        builder.WebHost.ConfigureKestrel((context, kestrel) =>
        {
            var tlsLogger = kestrel.ApplicationServices.GetRequiredService<ILoggerFactory>().CreateLogger("SwarmLearning.Node.Tls");

            // The node's identity holder, so that every handshake presents the certificate the node holds now.
            var identities = kestrel.ApplicationServices.GetRequiredService<SwarmLearningNode>().Identities;
            kestrel.Listen(IPAddress.Parse(options.ListenAddress), options.FilePort, listen => listen.UseHttps(https => SwarmTls.ConfigureServer(https, identities, trust, tlsLogger)));
            kestrel.ListenUnixSocket(socketPath);
            kestrel.Limits.MaxRequestBodySize = MaxJsonBody; // the model calls lift it for their own bodies
            kestrel.Limits.MaxRequestHeadersTotalSize = 32 * 1024;
            kestrel.AddServerHeader = false;
        });
        return builder;
    }

    /// <summary>Maps the file server (HTTPS only) and the local channel (the Unix socket only).</summary>
    public static WebApplication MapSwarmLearningNode(this WebApplication app)
    {
        ArgumentNullException.ThrowIfNull(app);
        var node = app.Services.GetRequiredService<SwarmLearningNode>();

        // Kestrel lets running requests finish before it stops, and a sync can wait for peers a long time: end the
        // session's calls as soon as the node is asked to stop, so they answer with a reason and shutdown is prompt.
        app.Lifetime.ApplicationStopping.Register(() => _ = node.Sessions.DisposeAsync().AsTask());
        app.UseRateLimiter();
        app.Use(async (context, next) =>
        {
            // The file port is the only TLS listener and the socket the only plain one: each answers only its own paths.
            var onFilePort = context.Request.IsHttps;
            var filePath = context.Request.Path.StartsWithSegments("/v1/models", StringComparison.Ordinal)
                || context.Request.Path.Equals(PeerConnections.PingPath, StringComparison.Ordinal);
            if (onFilePort != filePath)
            {
                await ChannelEndpoints.Error(StatusCodes.Status404NotFound, "notFound", onFilePort
                    ? $"the file port serves /v1/models/{{modelHash}} and {PeerConnections.PingPath} only"
                    : "models are served on the file port, not on the local channel").ExecuteAsync(context).ConfigureAwait(false);
                return;
            }

            try
            {
                await next(context).ConfigureAwait(false);
                await RequestGuard.DescribeEmptyErrorAsync(context).ConfigureAwait(false);
            }
            catch (BadHttpRequestException e) when (!context.Response.HasStarted)
            {
                // A route value that does not parse, a body over its size limit: the peer's mistake, not a bug.
                await RequestGuard.AnswerBadRequestAsync(context, e).ConfigureAwait(false);
            }
            catch (Exception e) when (e is not OperationCanceledException || !context.RequestAborted.IsCancellationRequested)
            {
                // Whatever escapes an endpoint still answers in the protocol's error format, never an empty 500.
                Log.Unhandled(node.ChannelLogger, context.Request.Method, context.Request.Path.ToString(), e);
                if (!context.Response.HasStarted)
                {
                    await ChannelEndpoints.Error(StatusCodes.Status500InternalServerError, "failed",
                        $"internal error in SL node '{node.Identity.Name}': {e.GetType().Name}: {e.Message}. This is a bug in SwarmLearning; the SL node's log has the details").ExecuteAsync(context).ConfigureAwait(false);
                }
            }
        });
        FileServerEndpoints.Map(app);
        ChannelEndpoints.Map(app);
        return app;
    }

    /// <summary>
    /// Opens the SL node's replica and store, then starts it in a web host of its own; completes when it listens (it
    /// goes on to follow its SN and register in the background: see <see cref="RunningLearningNode.Registered"/>). The
    /// returned handle stops it. For the <c>swarm sl</c> command and for tests.
    /// </summary>
    public static async Task<RunningLearningNode> StartAsync(SwarmLearningNodeOptions options, SwarmIdentity identity, SwarmTrust trust, Action<ILoggingBuilder>? logging = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        var errors = options.Validate();
        if (errors.Count > 0)
        {
            throw new SwarmException(string.Join("; ", errors));
        }

        var socketPath = options.EffectiveSocketPath;
        SwarmLearningNode.CreatePrivateDirectory(options.DataDirectory);
        await RemoveStaleSocketAsync(socketPath, cancellationToken).ConfigureAwait(false);
        var (app, node) = await ComponentHost.StartAsync<SwarmLearningNode>(
            builder => builder.AddSwarmLearningNode(options, identity, trust),
            app => app.MapSwarmLearningNode(),
            e => new SwarmException($"SL node '{identity.Name}' cannot listen on {options.ListenAddress}:{options.FilePort} and {socketPath}: {e.Message}; is another SL node running there?", e),
            logging,
            cancellationToken).ConfigureAwait(false);
        return new RunningLearningNode(app, node, socketPath);
    }

    /// <summary>Deletes a socket file no process listens on; refuses one that answers, or a path that is not a socket.</summary>
    private static async Task RemoveStaleSocketAsync(string path, CancellationToken cancellationToken)
    {
        if (!File.Exists(path))
        {
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            return;
        }

        using (var probe = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified))
        {
            try
            {
                await probe.ConnectAsync(new UnixDomainSocketEndPoint(path), cancellationToken).ConfigureAwait(false);
                throw new SwarmException($"{path}: another process (an SL node still running?) serves this socket; stop it, or give this node another --socket");
            }
            catch (SocketException)
            {
                // Nobody listens: a socket left by a node that did not stop cleanly, or not a socket at all.
            }
        }

        try
        {
            // Only a regular file can be opened; a socket cannot (ENXIO). Never delete a user's file.
            using (File.OpenHandle(path, FileMode.Open, FileAccess.Read))
            {
            }

            throw new SwarmException($"{path} exists and is not a socket; give the local channel another --socket path");
        }
        catch (IOException)
        {
            File.Delete(path);
        }
        catch (UnauthorizedAccessException e)
        {
            throw new SwarmException($"{path}: cannot replace the stale socket: {e.Message}", e);
        }
    }
}

public static partial class SwarmLearningHost
{
    private static partial class Log
    {
        [LoggerMessage(610, LogLevel.Error, "Internal error answering {Method} {Path}")]
        public static partial void Unhandled(ILogger logger, string method, string path, Exception exception);
    }
}

/// <summary>A started SL node; dispose to stop it.</summary>
public sealed class RunningLearningNode : IAsyncDisposable
{
    private int _disposed;

    internal RunningLearningNode(WebApplication app, SwarmLearningNode node, string socketPath)
    {
        App = app;
        Node = node;
        SocketPath = socketPath;
    }

    /// <summary>The node.</summary>
    public SwarmLearningNode Node { get; }

    /// <summary>The web host.</summary>
    public WebApplication App { get; }

    /// <summary>The local channel's socket.</summary>
    public string SocketPath { get; }

    /// <summary>Completes when the node is registered on the ledger with its current addresses.</summary>
#pragma warning disable VSTHRD003 // the node's own signal
    public Task Registered => Node.Ledger.Registered;
#pragma warning restore VSTHRD003

    /// <summary>Completes when the host stops.</summary>
    public Task WaitForShutdownAsync(CancellationToken cancellationToken = default) => App.WaitForShutdownAsync(cancellationToken);

    /// <inheritdoc/>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        await App.StopAsync().ConfigureAwait(false);
        await App.DisposeAsync().ConfigureAwait(false);
        try
        {
            File.Delete(SocketPath);
        }
        catch (IOException)
        {
        }
    }
}
