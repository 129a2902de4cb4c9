using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using SwarmLearning.Cli.Dashboard;
using SwarmLearning.Identity;

namespace SwarmLearning.Cli.Ctl;

/// <summary>Where <c>swarm ctl serve</c> listens, and with which identity when it must speak mutual TLS.</summary>
internal sealed class CtlServerOptions
{
    /// <summary>HPE's SWCI REST port.</summary>
    public const int DefaultPort = 30306;

    /// <summary>The address to listen on: 127.0.0.1 by default; anything but loopback requires <see cref="Identity"/>.</summary>
    public IPAddress Listen { get; init; } = IPAddress.Loopback;

    /// <summary>The TCP port (30306; 0 picks a free one).</summary>
    public int Port { get; init; } = DefaultPort;

    /// <summary>With <see cref="Trust"/>: HTTPS presenting this identity and requiring client certificates of the swarm's CA.</summary>
    public SwarmIdentity? Identity { get; init; }

    /// <summary>The swarm's CAs, for client certificates.</summary>
    public SwarmTrust? Trust { get; init; }

    /// <summary>How the dashboard follows the ledger and keeps its streams.</summary>
    public DashboardOptions Dashboard { get; init; } = new();

    /// <summary>Where the server logs (the dashboard's feed and streams); nowhere by default.</summary>
    public ILogger Logger { get; init; } = NullLogger.Instance;

    public void Validate()
    {
        if (!IPAddress.IsLoopback(Listen) && (Identity is null || Trust is null))
        {
            throw new SwarmException(
                $"--listen {Listen} is not a loopback address: the REST API is then served with mutual TLS only. Give --tls with the identity (--certs DIR --name NAME, or a context) whose certificate the server presents; clients then need a certificate of the swarm's CA");
        }

        if (Port is < 0 or > 65535)
        {
            throw new SwarmException($"--port {Port} is not a TCP port (1–65535)");
        }
    }
}

/// <summary>
/// <c>swarm ctl serve</c>: the ctl statements over REST (HPE's SWCI API port 30306), each answering the JSON that the
/// matching subcommand prints with <c>--json</c>. Errors are <c>{"error", "message"}</c> (400 for a statement that
/// does not parse or a bad request, 409 for one that failed). Statements run one at a time on one
/// <see cref="CtlRunner"/>, so a context switch applies to the requests after it, as in one SWCI session.
/// Reads (GET) run one at a time on a second runner that follows the session's context, so a long statement such as
/// WAIT FOR TASKRUNNER does not hold the dashboard or other readers. The dashboard (<see cref="DashboardEndpoints"/>)
/// is served under <c>/</c>. Loopback only and plain HTTP by default; any other address requires mutual TLS with the
/// swarm's CA.
/// </summary>
internal sealed class CtlServer : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly CtlRunner _runner;
    private readonly CtlRunner _reader;
    private readonly SemaphoreSlim _gate = new(1, 1);
    private readonly SemaphoreSlim _readGate = new(1, 1);
    private readonly DashboardFeed _feed;
    private readonly DashboardEndpoints _dashboard;
    private int _disposed;

    private CtlServer(WebApplication app, CtlRunner runner, CtlServerOptions options)
    {
        _app = app;
        _runner = runner;
        _reader = runner.ForReads();
        _feed = new DashboardFeed(() => _runner.CurrentContext, options.Dashboard, options.Logger);
        _dashboard = new DashboardEndpoints(_feed, ReadAsync, () => _runner.CurrentContext, options.Logger);
    }

    /// <summary>The address it serves, for example <c>http://127.0.0.1:30306</c>.</summary>
    public Uri Address { get; private set; } = null!;

    public static async Task<CtlServer> StartAsync(CtlServerOptions options, CtlRunner runner, CancellationToken cancellationToken)
    {
        options.Validate();
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.AddServerHeader = false;
            kestrel.Listen(options.Listen, options.Port, listen =>
            {
                if (options.Identity is { } identity && options.Trust is { } trust)
                {
                    listen.UseHttps(https => SwarmTls.ConfigureServer(https, identity, trust));
                }

                listen.Protocols = HttpProtocols.Http1AndHttp2;
            });
        });
        var app = builder.Build();
        var server = new CtlServer(app, runner, options);
        DashboardEndpoints.UseSecurityHeaders(app);
        server.Map(app);
        try
        {
            await app.StartAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (IOException e)
        {
            await server.DisposeAsync().ConfigureAwait(false);
            throw new SwarmException($"cannot listen on {options.Listen}:{options.Port} ({e.Message}); is another 'swarm ctl serve' running? Pick another --port", e);
        }

        var scheme = options.Identity is null ? "http" : "https";
        var port = new Uri(app.Urls.First()).Port;
        server.Address = new UriBuilder(scheme, options.Listen.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6 ? $"[{options.Listen}]" : options.Listen.ToString(), port).Uri;
        server._feed.Start();
        return server;
    }

    /// <summary>The dashboard's open streams.</summary>
    internal DashboardHub DashboardStreams => _feed.Hub;

    /// <summary>Completes when the server stops (Ctrl+C).</summary>
    public Task WaitForShutdownAsync(CancellationToken cancellationToken) => _app.WaitForShutdownAsync(cancellationToken);

    private void Map(IEndpointRouteBuilder app)
    {
        // The dashboard under /, the API under /v1.
        _dashboard.Map(app);
        app.MapGet("/v1", () => Results.Json(new { service = "swarm ctl", api = "/v1", dashboard = "/", statements = "POST /v1/statements {\"statement\": \"LIST CONTRACTS\"}" }, CtlJson.Compact));
        var v1 = app.MapGroup("/v1");
        v1.MapPost("/statements", async (StatementRequest? request, CancellationToken ct) =>
            request?.Statement is not { Length: > 0 } text
                ? Error(StatusCodes.Status400BadRequest, "invalid", "send {\"statement\": \"…\"}: one SWCI statement, for example LIST CONTRACTS")
                : await RunAsync(text, ct).ConfigureAwait(false));

        v1.MapGet("/contexts", (CancellationToken ct) => RunAsync(new ListContexts(), ct));
        v1.MapGet("/contexts/{name}", (string name, CancellationToken ct) => RunAsync(new GetContextInfo(name), ct));
        v1.MapPost("/contexts/{name}/switch", (string name, CancellationToken ct) => RunAsync(new SwitchContext(name), ct));
        v1.MapGet("/version", (CancellationToken ct) => ReadJsonAsync(new GetContextVersion(), ct));

        v1.MapGet("/contracts", (CancellationToken ct) => ReadJsonAsync(new ListContracts(), ct));
        v1.MapPost("/contracts", (NameRequest request, CancellationToken ct) => RunAsync(new CreateContract(request.Name), ct));
        v1.MapGet("/contracts/{name}", (string name, CancellationToken ct) => ReadJsonAsync(new GetContractStatus(name), ct));
        v1.MapGet("/contracts/{name}/perfdata", (string name, CancellationToken ct) => ReadJsonAsync(new GetPerfData(name), ct));
        v1.MapPost("/contracts/{name}/reset", (string name, CancellationToken ct) => RunAsync(new ResetContract(name), ct));

        v1.MapGet("/tasks", (CancellationToken ct) => ReadJsonAsync(new ListTasks(), ct));
        v1.MapPost("/tasks", (FileRequest request, CancellationToken ct) => RunAsync(new CreateTaskFrom(request.File), ct));
        v1.MapGet("/tasks/{name}", (string name, CancellationToken ct) => ReadJsonAsync(new GetTask(name, BodyOnly: false), ct));
        v1.MapGet("/tasks/{name}/body", (string name, CancellationToken ct) => ReadJsonAsync(new GetTask(name, BodyOnly: true), ct));
        v1.MapPost("/tasks/{name}/finalize", (string name, CancellationToken ct) => RunAsync(new FinalizeTask(name), ct));
        v1.MapDelete("/tasks/{name}", (string name, CancellationToken ct) => RunAsync(new DeleteTask(name), ct));

        v1.MapGet("/taskrunners", (CancellationToken ct) => ReadJsonAsync(new ListTaskRunners(), ct));
        v1.MapPost("/taskrunners", (NameRequest request, CancellationToken ct) => RunAsync(new CreateTaskRunner(request.Name), ct));
        v1.MapGet("/taskrunners/{name}", (string name, CancellationToken ct) => ReadJsonAsync(new GetTaskRunnerStatus(name), ct));
        v1.MapGet("/taskrunners/{name}/peers", (string name, CancellationToken ct) => ReadJsonAsync(new GetTaskRunnerPeers(name, null), ct));
        v1.MapGet("/taskrunners/{name}/peers/{peer}", (string name, string peer, CancellationToken ct) => ReadJsonAsync(new GetTaskRunnerPeers(name, peer), ct));
        v1.MapPost("/taskrunners/{name}/assign", (string name, AssignRequest request, CancellationToken ct) =>
            (request.Peers is > 0 ? 1 : 0) + (request.All ? 1 : 0) + (request.Target is null ? 0 : 1) != 1
                ? Task.FromResult(Error(StatusCodes.Status400BadRequest, "invalid", "give exactly one of peers (1 or more), all (true) or target (an operator's name or fingerprint)"))
                : RunAsync(new AssignTask(request.Task, name, request.Peers ?? 0, request.All, request.Target), ct));
        v1.MapPost("/taskrunners/{name}/reset", (string name, CancellationToken ct) => RunAsync(new ResetTaskRunner(name), ct));
        v1.MapPost("/taskrunners/{name}/wait", (string name, int? timeout, CancellationToken ct) =>
            RunAsync(new WaitForTaskRunner(name, timeout is > 0 ? TimeSpan.FromSeconds(timeout.Value) : null), ct));

        v1.MapGet("/nodes", (CancellationToken ct) => ReadJsonAsync(new ListNodes(), ct));
        v1.MapGet("/blocks", (long? from, int? limit, CancellationToken ct) => ReadJsonAsync(new ShowBlocks(from ?? -1, Math.Clamp(limit ?? 20, 1, 1000)), ct));
        v1.MapGet("/blocks/{height:long}", (long height, CancellationToken ct) => ReadJsonAsync(new ShowBlock(height), ct));
        v1.MapGet("/verify", (CancellationToken ct) => ReadJsonAsync(new VerifyLedger(null), ct));
    }

    private Task<IResult> RunAsync(string text, CancellationToken cancellationToken)
    {
        CtlStatement? statement;
        try
        {
            statement = SwciParser.Parse(text, "request");
        }
        catch (SwciSyntaxException e)
        {
            return Task.FromResult(Error(StatusCodes.Status400BadRequest, "invalid", e.Message));
        }

        return statement is null or Exit or ExitOnFailure or Sleep or ChangeDirectory or ListDirectory or PrintDirectory or VerifyLedger { Directory: not null }
            ? Task.FromResult(Error(StatusCodes.Status400BadRequest, "invalid", $"'{text}' is for scripts and the prompt, not the REST API"))
            : RunAsync(statement, cancellationToken);
    }

    private async Task<IResult> RunAsync(CtlStatement statement, CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var result = await _runner.ExecuteAsync(statement, cancellationToken).ConfigureAwait(false);
            return Results.Json(result.Data, CtlJson.Compact);
        }
        catch (SwarmException e)
        {
            return Error(StatusCodes.Status409Conflict, "failed", e.Message);
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>A statement that only reads, on the reader beside the session's statements.</summary>
    private async Task<IResult> ReadJsonAsync(CtlStatement statement, CancellationToken cancellationToken)
    {
        try
        {
            return Results.Json((await ReadAsync(statement, cancellationToken).ConfigureAwait(false)).Data, CtlJson.Compact);
        }
        catch (SwarmException e)
        {
            return Error(StatusCodes.Status409Conflict, "failed", e.Message);
        }
    }

    private async Task<CtlResult> ReadAsync(CtlStatement statement, CancellationToken cancellationToken)
    {
        await _readGate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            return await _reader.ExecuteAsync(statement, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _readGate.Release();
        }
    }

    private static IResult Error(int status, string kind, string message) => Results.Json(new { error = kind, message }, CtlJson.Compact, statusCode: status);

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 1)
        {
            return;
        }

        // The feed first: it ends the dashboard's streams, which would otherwise hold the server's stop.
        await _feed.DisposeAsync().ConfigureAwait(false);
        await _app.StopAsync().ConfigureAwait(false);
        await _app.DisposeAsync().ConfigureAwait(false);
        _dashboard.Dispose();
        _reader.Dispose();
        _gate.Dispose();
        _readGate.Dispose();
    }

    private sealed record StatementRequest(string? Statement);

    private sealed record NameRequest(string Name);

    private sealed record FileRequest(string File);

    private sealed record AssignRequest(string Task, int? Peers, bool All, string? Target);
}
