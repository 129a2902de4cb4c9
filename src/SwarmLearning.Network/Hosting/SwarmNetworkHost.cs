using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using SwarmLearning.Identity;
using SwarmLearning.Network.Api;
using SwarmLearning.Network.Peer;

namespace SwarmLearning.Network.Hosting;

/// <summary>Hosting an SN in ASP.NET Core: Kestrel with mutual TLS on the API and peer ports, the endpoints, the node service.</summary>
public static class SwarmNetworkHost
{
    /// <summary>
    /// Adds the SN: its service (the ledger opens when the service is first resolved, at the latest by
    /// <see cref="MapSwarmNetworkNode"/>), and Kestrel listening on its API and peer ports with client certificates required.
    /// </summary>
    public static WebApplicationBuilder AddSwarmNetworkNode(this WebApplicationBuilder builder, SwarmNetworkOptions options, SwarmIdentity identity, SwarmTrust trust)
    {
        ArgumentNullException.ThrowIfNull(identity);
        return builder.AddSwarmNetworkNode(options, trust, sp => SwarmNetworkNode.Open(options, identity, trust, sp.GetRequiredService<ILoggerFactory>(), sp.GetService<TimeProvider>()));
    }

    /// <summary>
    /// As <see cref="AddSwarmNetworkNode(WebApplicationBuilder, SwarmNetworkOptions, SwarmIdentity, SwarmTrust)"/>, with
    /// the identity in a holder the caller owns and disposes after the host.
    /// </summary>
    public static WebApplicationBuilder AddSwarmNetworkNode(this WebApplicationBuilder builder, SwarmNetworkOptions options, IdentityHolder identity, SwarmTrust trust)
    {
        ArgumentNullException.ThrowIfNull(identity);
        return builder.AddSwarmNetworkNode(options, trust, sp => SwarmNetworkNode.Open(options, identity, trust, sp.GetRequiredService<ILoggerFactory>(), sp.GetService<TimeProvider>()));
    }

    private static WebApplicationBuilder AddSwarmNetworkNode(this WebApplicationBuilder builder, SwarmNetworkOptions options, SwarmTrust trust, Func<IServiceProvider, SwarmNetworkNode> open)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(trust);
        var errors = options.Validate();
        if (errors.Count > 0)
        {
            throw new SwarmException(string.Join("; ", errors));
        }

        builder.Services.AddSingleton(open);
        builder.Services.AddHostedService(sp => sp.GetRequiredService<SwarmNetworkNode>());
        builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = TimeSpan.FromSeconds(10));

        // A parameter that does not parse throws, so that the answer can say which one (see MapSwarmNetworkNode).
        builder.Services.Configure<RouteHandlerOptions>(o => o.ThrowOnBadRequest = true);
        builder.Services.AddPeerRateLimiter(port => port == options.PeerPort ? options.PeerPortRequestsPerPeer : options.RequestsPerPeer, options.RequestWindow);
        builder.WebHost.ConfigureKestrel((context, kestrel) =>
        {
            var tlsLogger = kestrel.ApplicationServices.GetRequiredService<ILoggerFactory>().CreateLogger("SwarmLearning.Network.Tls");

            // The node's identity holder, so that every handshake presents the certificate the node holds now.
            var identity = kestrel.ApplicationServices.GetRequiredService<SwarmNetworkNode>().Identities;
            var address = IPAddress.Parse(options.ListenAddress);
            foreach (var port in new[] { options.ApiPort, options.PeerPort })
            {
                kestrel.Listen(address, port, listen => listen.UseHttps(https => SwarmTls.ConfigureServer(https, identity, trust, tlsLogger)));
            }

            kestrel.Limits.MaxRequestBodySize = Ledger.Transactions.Transaction.MaxEncodedSize + 4096;
            kestrel.Limits.MaxRequestHeadersTotalSize = 32 * 1024;
            kestrel.AddServerHeader = false;
        });
        return builder;
    }

    /// <summary>Maps the API (port 30304) and peer (port 30303) endpoints, each answering only on its own port.</summary>
    public static WebApplication MapSwarmNetworkNode(this WebApplication app)
    {
        ArgumentNullException.ThrowIfNull(app);
        var node = app.Services.GetRequiredService<SwarmNetworkNode>();
        app.UseRateLimiter();
        app.Use(async (context, next) =>
        {
            var onPeerPort = context.Connection.LocalPort == node.Options.PeerPort;
            var peerPath = context.Request.Path.StartsWithSegments("/peer", StringComparison.Ordinal);
            if (onPeerPort != peerPath)
            {
                context.Response.StatusCode = StatusCodes.Status404NotFound;
                await context.Response.WriteAsJsonAsync(
                    new ApiError("notFound", onPeerPort ? "the peer port serves /peer/v1/ only; the API is on the API port" : "/peer/ paths are served on the peer port only"),
                    Ledger.Serialization.LedgerJson.Options).ConfigureAwait(false);
                return;
            }

            try
            {
                await next(context).ConfigureAwait(false);
            }
            catch (BadHttpRequestException e) when (!context.Response.HasStarted)
            {
                await RequestGuard.AnswerBadRequestAsync(context, e).ConfigureAwait(false);
                return;
            }

            await RequestGuard.DescribeEmptyErrorAsync(context).ConfigureAwait(false);
        });
        app.Use((context, next) => Admission.InvokeAsync(context, node, () => next(context)));
        ApiEndpoints.Map(app);
        PeerEndpoints.Map(app);
        return app;
    }

    /// <summary>
    /// Opens the SN's ledger, then starts it in a web host of its own; completes when it listens. The returned handle
    /// stops it. For the <c>swarm sn</c> command and for tests.
    /// </summary>
    public static async Task<RunningNetworkNode> StartAsync(SwarmNetworkOptions options, SwarmIdentity identity, SwarmTrust trust, Action<ILoggingBuilder>? logging = null, CancellationToken cancellationToken = default)
    {
        var (app, node) = await ComponentHost.StartAsync<SwarmNetworkNode>(
            builder => builder.AddSwarmNetworkNode(options, identity, trust),
            app => app.MapSwarmNetworkNode(),
            e => new SwarmException($"SN '{identity.Name}' cannot listen on {options.ListenAddress} ports {options.ApiPort} and {options.PeerPort}: {e.Message}; is another SN running there?", e),
            logging,
            cancellationToken).ConfigureAwait(false);
        return new RunningNetworkNode(app, node);
    }
}

/// <summary>A started SN; dispose to stop it.</summary>
public sealed class RunningNetworkNode(WebApplication app, SwarmNetworkNode node) : IAsyncDisposable
{
    private int _disposed;

    /// <summary>The node.</summary>
    public SwarmNetworkNode Node { get; } = node;

    /// <summary>The web host.</summary>
    public WebApplication App { get; } = app;

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
    }
}
