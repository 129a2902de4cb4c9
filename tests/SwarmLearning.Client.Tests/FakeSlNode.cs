using System.Text.Json;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using SwarmLearning.Safetensors;
using SwarmLearning.Tensors;

namespace SwarmLearning.Client.Tests;

/// <summary>
/// A fake SL node: Kestrel on a Unix socket in a temporary directory, speaking the local channel (version 1) just
/// enough for the client. Begin answers <see cref="Start"/>; sync and end answer the element-wise mean of the model
/// they received and <see cref="Start"/>; progress answers the next of <see cref="Intervals"/> (else the session's
/// syncFrequency). Every request is recorded with its raw body; faults can be injected per request.
/// </summary>
internal sealed class FakeSlNode : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly Lock _lock = new();
    private readonly List<Recorded> _requests = [];
    private readonly List<TensorModel> _answers = [];
    private readonly string _scratch;
    private int _syncFrequency;
    private long _round;

    private FakeSlNode(WebApplication app, string socketPath, string scratch, TensorModel start)
    {
        _app = app;
        SocketPath = socketPath;
        _scratch = scratch;
        Start = start;
    }

    /// <summary>One request as it arrived.</summary>
    public sealed record Recorded(string Method, string Path, string? ContentType, byte[] Body)
    {
        public string Action => Path.Split('/')[^1];

        public JsonElement Json => JsonDocument.Parse(Body).RootElement;
    }

    public string SocketPath { get; }

    /// <summary>The model begin answers, and the other half of every mean.</summary>
    public TensorModel Start { get; set; }

    /// <summary>The apiVersion that /v1/info reports.</summary>
    public int ApiVersion { get; set; } = 2;

    /// <summary>The next sync intervals progress answers with.</summary>
    public Queue<int> Intervals { get; } = new();

    /// <summary>The first round whose sync answer says the training is over.</summary>
    public long TrainingOverFromRound { get; set; } = long.MaxValue;

    /// <summary>Returns an answer (status, body, content type) for a request ("POST /v1/sessions", "POST /v1/sessions/s-1/sync", …), or null to serve it.</summary>
    public Func<string, (int Status, string Body, string ContentType)?>? Fault { get; set; }

    /// <summary>How long /end takes before it answers (the other nodes finishing).</summary>
    public TimeSpan EndDelay { get; set; }

    /// <summary>When set, /sync waits for it before answering.</summary>
    public TaskCompletionSource? SyncGate { get; set; }

    /// <summary>Leave out the Swarm-* headers of model answers.</summary>
    public bool OmitHeaders { get; set; }

    /// <summary>Answer models with bytes that are not a safetensors file.</summary>
    public bool CorruptModels { get; set; }

    /// <summary>Completes when a request for /end arrives.</summary>
    public TaskCompletionSource EndArrived { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>The open session's id.</summary>
    public string? Session { get; private set; }

    public IReadOnlyList<Recorded> Requests
    {
        get
        {
            lock (_lock)
            {
                return [.. _requests];
            }
        }
    }

    /// <summary>The models sent back by begin, sync and end, in order.</summary>
    public IReadOnlyList<TensorModel> Answers
    {
        get
        {
            lock (_lock)
            {
                return [.. _answers];
            }
        }
    }

    public IEnumerable<Recorded> Of(string action) => Requests.Where(r => r.Action == action);

    /// <summary>Starts the node; returns once Kestrel listens on the socket.</summary>
    public static async Task<FakeSlNode> StartAsync(string directory, TensorModel start)
    {
        var socket = Path.Combine(directory, "ml.sock");
        var scratch = Path.Combine(directory, "fake-sl");
        Directory.CreateDirectory(scratch);
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k => k.ListenUnixSocket(socket));
        var app = builder.Build();
        var node = new FakeSlNode(app, socket, scratch, start);
        app.Run(node.HandleAsync);
        await app.StartAsync();
        return node;
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }

    private async Task HandleAsync(HttpContext context)
    {
        var request = context.Request;
        using var buffer = new MemoryStream();
        await request.Body.CopyToAsync(buffer, context.RequestAborted);
        var path = request.Path.Value ?? "";
        var recorded = new Recorded(request.Method, path, request.ContentType, buffer.ToArray());
        lock (_lock)
        {
            _requests.Add(recorded);
        }

        if (Fault?.Invoke($"{request.Method} {path}") is { } fault)
        {
            context.Response.StatusCode = fault.Status;
            context.Response.ContentType = fault.ContentType;
            await context.Response.WriteAsync(fault.Body);
            return;
        }

        var parts = path.Split('/', StringSplitOptions.RemoveEmptyEntries);
        switch (request.Method, parts)
        {
            case ("GET", ["v1", "info"]):
                await WriteJsonAsync(context, 200, new { apiVersion = ApiVersion, node = "sl1", fingerprint = "ab12cd", sn = "https://sn1:30304", session = Session });
                return;
            case ("POST", ["v1", "sessions"]):
                await OpenAsync(context, recorded);
                return;
            case ("DELETE", ["v1", "sessions", var id]) when id == Session:
                Session = null;
                context.Response.StatusCode = 204;
                return;
            case ("POST", ["v1", "sessions", var id, "progress"]) when id == Session:
                var next = Intervals.TryDequeue(out var interval) ? interval : _syncFrequency;
                await WriteJsonAsync(context, 200, new { syncInterval = next });
                return;
            case ("POST", ["v1", "sessions", var id, var action and ("begin" or "sync" or "end")]) when id == Session:
                await ModelAsync(context, action, recorded);
                return;
            case (_, ["v1", "sessions", _, ..]):
                await WriteJsonAsync(context, 404, new { error = "notFound", message = $"there is no session {parts[2]} on this SL node" });
                return;
            default:
                await WriteJsonAsync(context, 404, new { error = "notFound", message = $"no such endpoint: {request.Method} {path}" });
                return;
        }
    }

    private async Task OpenAsync(HttpContext context, Recorded recorded)
    {
        var options = recorded.Json;
        if (options.GetProperty("apiVersion").GetInt32() != ApiVersion)
        {
            await WriteJsonAsync(context, 400, new { error = "invalid", message = $"Mismatch in the Swarm API version between the ML program ({options.GetProperty("apiVersion").GetInt32()}) and the SL node ({ApiVersion})" });
            return;
        }

        if (Session is not null)
        {
            await WriteJsonAsync(context, 409, new { error = "conflict", message = $"session {Session} is already open on this SL node" });
            return;
        }

        _syncFrequency = options.GetProperty("syncFrequency").GetInt32();
        Session = "s-" + Guid.NewGuid().ToString("N")[..8];
        await WriteJsonAsync(context, 201, new { session = Session, syncInterval = _syncFrequency });
    }

    private async Task ModelAsync(HttpContext context, string action, Recorded recorded)
    {
        if (recorded.ContentType != "application/octet-stream")
        {
            await WriteJsonAsync(context, 400, new { error = "invalid", message = $"a model must come as application/octet-stream, not {recorded.ContentType}" });
            return;
        }

        var received = Path.Combine(_scratch, Guid.NewGuid().ToString("N") + ".safetensors");
        await File.WriteAllBytesAsync(received, recorded.Body);
        TensorModel local;
        using (var file = SafetensorsFile.Open(received))
        {
            local = file.LoadModel();
        }

        if (action == "sync" && SyncGate is { } gate)
        {
            await gate.Task.WaitAsync(context.RequestAborted);
        }

        if (action == "end")
        {
            EndArrived.TrySetResult();
            await Task.Delay(EndDelay, context.RequestAborted); // the other nodes are still training
        }

        var answer = action == "begin" ? Start : TestModels.Mean(local, Start);
        var round = action == "begin" ? 0 : Interlocked.Increment(ref _round);
        var path = Path.Combine(_scratch, Guid.NewGuid().ToString("N") + ".safetensors");
        SafetensorsWriter.Write(path, answer);
        var bytes = CorruptModels ? Encoding.UTF8.GetBytes("this is not a model") : await File.ReadAllBytesAsync(path);
        lock (_lock)
        {
            _answers.Add(answer);
        }

        var response = context.Response;
        response.StatusCode = 200;
        response.ContentType = "application/octet-stream";
        if (!OmitHeaders)
        {
            response.Headers["Swarm-Round"] = round.ToString(System.Globalization.CultureInfo.InvariantCulture);
            response.Headers["Swarm-Model-Hash"] = round == 0 ? "" : ModelHash.Of(bytes);
            response.Headers["Swarm-Contributed"] = round == 0 ? "false" : "true";
            response.Headers["Swarm-Training-Over"] = action == "end" || round >= TrainingOverFromRound ? "true" : "false";
        }

        response.ContentLength = bytes.Length;
        await response.Body.WriteAsync(bytes);
    }

    private static async Task WriteJsonAsync(HttpContext context, int status, object body)
    {
        context.Response.StatusCode = status;
        context.Response.ContentType = "application/json";
        await context.Response.WriteAsync(JsonSerializer.Serialize(body, JsonSerializerOptions.Web));
    }
}
