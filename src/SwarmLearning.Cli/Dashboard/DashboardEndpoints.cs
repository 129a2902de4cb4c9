using System.Collections.Frozen;
using System.Reflection;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Logging;
using SwarmLearning.Cli.Ctl;

namespace SwarmLearning.Cli.Dashboard;

/// <summary>What the dashboard shows at one height of the ledger: one answer for the whole page, so a picture is consistent.</summary>
internal sealed record DashboardView(
    long Height, string? Problem, string Context, string Sn, string Identity, string At, IReadOnlyList<NodeView> Nodes, IReadOnlyList<ContractPanel> Contracts,
    IReadOnlyList<TaskView> Tasks, IReadOnlyList<TaskRunnerView> TaskRunners);

/// <summary>A training contract, its PERFDATA and its rounds and curves.</summary>
internal sealed record ContractPanel(ContractView Contract, IReadOnlyList<PerfNodeView> Perf, ContractHistoryView? History);

/// <summary>
/// The dashboard on the ctl server: its page and assets (embedded in this assembly, so <c>swarm ctl serve</c> serves them
/// from any directory, and nothing comes from elsewhere), the whole picture at <c>GET /v1/dashboard</c>, and
/// <c>GET /v1/stream</c>, server-sent events that say when the ledger moved. Every answer carries a strict
/// Content-Security-Policy: the page runs only its own script, loads nothing from other origins, and cannot be framed.
/// </summary>
internal sealed class DashboardEndpoints : IDisposable
{
    /// <summary>Only this origin: no inline script or style, no plug-ins, no framing, no form posts, no base URI.</summary>
    public const string ContentSecurityPolicy =
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

    private static readonly FrozenDictionary<string, (byte[] Bytes, string Type)> Assets = LoadAssets();

    private readonly DashboardFeed _feed;
    private readonly Func<CtlStatement, CancellationToken, Task<CtlResult>> _read;
    private readonly Func<CtlContext> _context;
    private readonly ILogger _logger;
    private readonly SemaphoreSlim _build = new(1, 1);
    private (long Height, DateTimeOffset At, DashboardView View)? _cached;

    public DashboardEndpoints(DashboardFeed feed, Func<CtlStatement, CancellationToken, Task<CtlResult>> read, Func<CtlContext> context, ILogger logger)
    {
        _feed = feed;
        _read = read;
        _context = context;
        _logger = logger;
    }

    /// <summary>How long a picture is served again at the same height: an SN's members go inactive without a new block.</summary>
    private static readonly TimeSpan MaxAge = TimeSpan.FromSeconds(5);

    public static void UseSecurityHeaders(IApplicationBuilder app) =>
        app.Use((context, next) =>
        {
            var headers = context.Response.Headers;
            headers.ContentSecurityPolicy = ContentSecurityPolicy;
            headers.XContentTypeOptions = "nosniff";
            headers.XFrameOptions = "DENY";
            headers["Referrer-Policy"] = "no-referrer";
            headers.CacheControl = "no-store";
            return next(context);
        });

    public void Map(IEndpointRouteBuilder app)
    {
        app.MapGet("/", () => Asset("index.html"));
        app.MapGet("/assets/{name}", (string name) => Asset(name));
        app.MapGet("/v1/dashboard", (CancellationToken ct) => ViewAsync(ct));
        app.MapGet("/v1/stream", StreamAsync);
    }

    private static IResult Asset(string name) =>
        Assets.TryGetValue(name, out var asset) ? Results.Bytes(asset.Bytes, asset.Type) : Results.NotFound();

    private static FrozenDictionary<string, (byte[], string)> LoadAssets()
    {
        var assembly = Assembly.GetExecutingAssembly();
        const string prefix = "dashboard/";
        var assets = new Dictionary<string, (byte[], string)>(StringComparer.Ordinal);
        foreach (var resource in assembly.GetManifestResourceNames().Where(n => n.StartsWith(prefix, StringComparison.Ordinal)))
        {
            using var stream = assembly.GetManifestResourceStream(resource)!;
            using var copy = new MemoryStream();
            stream.CopyTo(copy);
            var name = resource[prefix.Length..];
            var type = Path.GetExtension(name) switch
            {
                ".html" => "text/html; charset=utf-8",
                ".js" => "text/javascript; charset=utf-8",
                ".css" => "text/css; charset=utf-8",
                ".svg" => "image/svg+xml",
                _ => "application/octet-stream",
            };
            assets.Add(name, (copy.ToArray(), type));
        }

        return assets.ToFrozenDictionary(StringComparer.Ordinal);
    }

    /// <summary>The whole picture, built once per height (and at most every few seconds) however many pages ask.</summary>
    private async Task<IResult> ViewAsync(CancellationToken cancellationToken)
    {
        var change = _feed.Hub.Latest;
        await _build.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (_cached is { } c && c.Height == _feed.Height && DateTimeOffset.UtcNow - c.At < MaxAge && change.Problem is null)
            {
                return Results.Json(c.View, CtlJson.Compact);
            }

            DashboardView view;
            try
            {
                view = await BuildAsync(cancellationToken).ConfigureAwait(false);
                _cached = (view.Height, DateTimeOffset.UtcNow, view);
            }
            catch (SwarmException e)
            {
                // The SN is away: the last picture, saying so (a page keeps what it knew rather than going blank).
                var context = Context();
                view = (_cached?.View ?? new DashboardView(_feed.Height, null, context.Name, context.Sn, context.Identity, Now(), [], [], [], [])) with
                {
                    Problem = e.Message,
                    At = Now(),
                };
            }

            return Results.Json(view, CtlJson.Compact);
        }
        finally
        {
            _build.Release();
        }
    }

    private CtlContext Context()
    {
        try
        {
            return _context();
        }
        catch (SwarmException)
        {
            return new CtlContext("(none)", "", "", "");
        }
    }

    private static string Now() => CtlFormat.Time(DateTimeOffset.UtcNow.ToUnixTimeMilliseconds());

    private async Task<DashboardView> BuildAsync(CancellationToken cancellationToken)
    {
        var context = _context();
        var height = _feed.Height;
        var nodes = (IReadOnlyList<NodeView>)(await _read(new ListNodes(), cancellationToken).ConfigureAwait(false)).Data;
        var contracts = (IReadOnlyList<ContractView>)(await _read(new ListContracts(), cancellationToken).ConfigureAwait(false)).Data;
        var names = nodes.GroupBy(n => n.Fingerprint, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.First().Name, StringComparer.Ordinal);
        string NameOf(string fingerprint) => names.TryGetValue(fingerprint, out var name) ? name : fingerprint[..Math.Min(12, fingerprint.Length)];
        var panels = new List<ContractPanel>();
        foreach (var contract in contracts)
        {
            var perf = (PerfDataView)(await _read(new GetPerfData(contract.Name), cancellationToken).ConfigureAwait(false)).Data;
            panels.Add(new ContractPanel(contract, perf.Nodes, _feed.Read(h => h.View(contract.Name, NameOf))));
        }

        var tasks = (IReadOnlyList<TaskView>)(await _read(new ListTasks(), cancellationToken).ConfigureAwait(false)).Data;
        var runners = (IReadOnlyList<TaskRunnerView>)(await _read(new ListTaskRunners(), cancellationToken).ConfigureAwait(false)).Data;
        return new DashboardView(height, _feed.Hub.Latest.Problem, context.Name, context.Sn, context.Identity, Now(), nodes, panels, tasks, runners);
    }

    /// <summary>
    /// Server-sent events: <c>event: change</c> with <c>{height, problem}</c> whenever the ledger moves or the SN's
    /// reachability changes (the latest first, at once), and a comment line every <see cref="DashboardOptions.Heartbeat"/>.
    /// It ends when the page goes or the server stops.
    /// </summary>
    private async Task StreamAsync(HttpContext http)
    {
        using var subscription = _feed.Hub.Subscribe();
        if (subscription is null)
        {
            DashboardLog.StreamRefused(_logger, _feed.Hub.Count);
            http.Response.StatusCode = StatusCodes.Status503ServiceUnavailable;
            http.Response.Headers.RetryAfter = "30";
            await http.Response.WriteAsJsonAsync(new { error = "busy", message = $"{_feed.Options.MaxStreams} dashboard streams are open, the most this server keeps; close a page" }, CtlJson.Compact, http.RequestAborted)
                .ConfigureAwait(false);
            return;
        }

        DashboardLog.StreamOpened(_logger, _feed.Hub.Count);
        var cancellationToken = http.RequestAborted;
        http.Features.Get<IHttpResponseBodyFeature>()?.DisableBuffering();
        http.Response.ContentType = "text/event-stream";
        http.Response.Headers.CacheControl = "no-cache, no-store";
        try
        {
            await WriteAsync(http, "retry: 2000\n\n", cancellationToken).ConfigureAwait(false);
            while (true)
            {
                bool more;
                using (var beat = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken))
                {
                    beat.CancelAfter(_feed.Options.Heartbeat);
                    try
                    {
                        more = await subscription.Reader.WaitToReadAsync(beat.Token).ConfigureAwait(false);
                    }
                    catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
                    {
                        await WriteAsync(http, ": heartbeat\n\n", cancellationToken).ConfigureAwait(false);
                        continue;
                    }
                }

                if (!more)
                {
                    return; // the server stops
                }

                while (subscription.Reader.TryRead(out var change))
                {
                    await WriteAsync(http, $"event: change\nid: {change.Height}\ndata: {JsonSerializer.Serialize(change, CtlJson.Compact)}\n\n", cancellationToken).ConfigureAwait(false);
                }
            }
        }
        catch (Exception e) when (e is OperationCanceledException or IOException)
        {
            // The page went away.
        }
        finally
        {
            DashboardLog.StreamClosed(_logger, _feed.Hub.Count - 1);
        }
    }

    public void Dispose() => _build.Dispose();

    private static async Task WriteAsync(HttpContext http, string text, CancellationToken cancellationToken)
    {
        await http.Response.Body.WriteAsync(Encoding.UTF8.GetBytes(text), cancellationToken).ConfigureAwait(false);
        await http.Response.Body.FlushAsync(cancellationToken).ConfigureAwait(false);
    }
}
