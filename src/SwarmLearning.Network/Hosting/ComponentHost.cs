using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace SwarmLearning.Network.Hosting;

/// <summary>
/// Builds, maps and starts the web host of one swarm component (an SN, an SL node) and hands back the component's
/// service. A component that fails to open (a modified ledger) or to listen (a port in use) leaves nothing running.
/// </summary>
public static class ComponentHost
{
    /// <summary>
    /// Creates a slim web host with <paramref name="logging"/>, lets <paramref name="add"/> register the component,
    /// builds it, lets <paramref name="map"/> map its endpoints, resolves <typeparamref name="TNode"/> (which opens it)
    /// and starts listening; an <see cref="IOException"/> while binding becomes <paramref name="cannotListen"/>'s error.
    /// </summary>
    public static async Task<(WebApplication App, TNode Node)> StartAsync<TNode>(
        Action<WebApplicationBuilder> add,
        Action<WebApplication> map,
        Func<IOException, SwarmException> cannotListen,
        Action<ILoggingBuilder>? logging,
        CancellationToken cancellationToken)
        where TNode : notnull
    {
        ArgumentNullException.ThrowIfNull(add);
        ArgumentNullException.ThrowIfNull(map);
        ArgumentNullException.ThrowIfNull(cannotListen);
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        logging?.Invoke(builder.Logging);
        add(builder);
        var app = builder.Build();
        TNode node;
        try
        {
            map(app);
            node = app.Services.GetRequiredService<TNode>();
        }
        catch
        {
            await app.DisposeAsync().ConfigureAwait(false);
            throw;
        }

        try
        {
            await app.StartAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (IOException e)
        {
            await app.DisposeAsync().ConfigureAwait(false);
            throw cannotListen(e);
        }

        return (app, node);
    }
}
