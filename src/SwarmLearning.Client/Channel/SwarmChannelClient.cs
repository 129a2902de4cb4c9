using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using SwarmLearning.Safetensors;
using SwarmLearning.Tensors;

namespace SwarmLearning.Client.Channel;

/// <summary>
/// The ML program's end of the local channel, version 1 (docs/swarm-callback.md#the-local-channel): HTTP/1.1 over the
/// SL node's Unix domain socket, models as safetensors bodies streamed through temporary files, JSON in camelCase.
/// Every failure becomes a <see cref="SwarmChannelException"/> carrying the node's own message. One call at a time.
/// </summary>
public sealed partial class SwarmChannelClient : IAsyncDisposable, IDisposable
{
    /// <summary>The channel version this client speaks.</summary>
    public const int ApiVersion = 2;

    internal const string RoundHeader = "Swarm-Round";
    internal const string HashHeader = "Swarm-Model-Hash";
    internal const string ContributedHeader = "Swarm-Contributed";
    internal const string TrainingOverHeader = "Swarm-Training-Over";
    private const string ModelMediaType = "application/octet-stream";

    private readonly HttpClient _http;
    private readonly ILogger _logger;
    private readonly string _scratch;
    private readonly bool _ownsScratch;
    private int _disposed;

    /// <summary>Creates a client of the SL node listening on <paramref name="socketPath"/>; nothing connects until the first call.</summary>
    /// <param name="socketPath">The SL node's socket, e.g. <c>&lt;sl-dir&gt;/ml.sock</c>.</param>
    /// <param name="logger">Where waits are logged.</param>
    /// <param name="scratchDirectory">Where models are staged on their way (each file is deleted once used); default: a new directory under the system temp path, deleted on dispose.</param>
    public SwarmChannelClient(string socketPath, ILogger? logger = null, string? scratchDirectory = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(socketPath);
        SocketPath = Path.GetFullPath(socketPath);
        _logger = logger ?? NullLogger.Instance;
        // Created with the first model sent, so a client that never sends one leaves nothing behind.
        _scratch = scratchDirectory ?? Path.Combine(Path.GetTempPath(), "swarm-callback-" + Guid.NewGuid().ToString("N"));
        _ownsScratch = scratchDirectory is null;
        var endpoint = new UnixDomainSocketEndPoint(SocketPath);
        var handler = new SocketsHttpHandler
        {
            UseProxy = false,
            UseCookies = false,
            AllowAutoRedirect = false,
            AutomaticDecompression = DecompressionMethods.None,
            ConnectTimeout = TimeSpan.FromSeconds(10),
            ConnectCallback = async (_, cancellationToken) =>
            {
                var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
                try
                {
                    await socket.ConnectAsync(endpoint, cancellationToken).ConfigureAwait(false);
                    return new NetworkStream(socket, ownsSocket: true);
                }
                catch
                {
                    socket.Dispose();
                    throw;
                }
            },
        };
        _http = new HttpClient(handler, disposeHandler: true)
        {
            // The host is never resolved (the socket is the address); it only fills the Host header.
            BaseAddress = new Uri("http://localhost/"),
            DefaultRequestVersion = HttpVersion.Version11,
            DefaultVersionPolicy = HttpVersionPolicy.RequestVersionExact,
            Timeout = Timeout.InfiniteTimeSpan, // each call sets its own limit; the final merge has none
        };
    }

    /// <summary>The SL node's socket.</summary>
    public string SocketPath { get; }

    /// <summary>How long a call without its own limit may take. Default 2 minutes.</summary>
    public TimeSpan RequestTimeout { get; init; } = TimeSpan.FromMinutes(2);

    /// <summary>How long begin and sync may take (they wait for peers). Default 1 hour.</summary>
    public TimeSpan SyncTimeout { get; init; } = TimeSpan.FromHours(1);

    /// <summary>How often a call still waiting for its answer logs that it does. Default 30 s.</summary>
    public TimeSpan WaitLogInterval { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary><c>GET /v1/info</c>: the SL node's name, fingerprint, SN, API version and open session.</summary>
    public Task<SlNodeInfo> GetInfoAsync(CancellationToken cancellationToken = default) =>
        SendJsonAsync(HttpMethod.Get, "v1/info", null, ChannelJson.Default.SlNodeInfo, RequestTimeout, cancellationToken);

    /// <summary><c>POST /v1/sessions</c>: opens this program's session with its swarm parameters.</summary>
    public Task<SwarmSessionOpened> OpenSessionAsync(SwarmSessionRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        var body = JsonContent(request, ChannelJson.Default.SwarmSessionRequest);
        return SendJsonAsync(HttpMethod.Post, "v1/sessions", body, ChannelJson.Default.SwarmSessionOpened, RequestTimeout, cancellationToken);
    }

    /// <summary><c>POST /v1/sessions/{id}/begin</c>: the initial sync; returns the model to start from.</summary>
    public Task<SwarmSyncResult> BeginAsync(string session, TensorModel initial, CancellationToken cancellationToken = default) =>
        SendModelAsync(session, "begin", initial, SyncTimeout, cancellationToken);

    /// <summary><c>POST /v1/sessions/{id}/sync</c>: one sync round; returns the merged model.</summary>
    public Task<SwarmSyncResult> SyncAsync(string session, TensorModel local, CancellationToken cancellationToken = default) =>
        SendModelAsync(session, "sync", local, SyncTimeout, cancellationToken);

    /// <summary><c>POST /v1/sessions/{id}/progress</c>: reports loss, metric and epochs; returns the next sync interval.</summary>
    public async Task<int> ReportProgressAsync(string session, SwarmProgress progress, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(progress);
        var body = JsonContent(progress, ChannelJson.Default.SwarmProgress);
        var next = await SendJsonAsync(HttpMethod.Post, SessionPath(session, "progress"), body, ChannelJson.Default.NextInterval, RequestTimeout, cancellationToken)
            .ConfigureAwait(false);
        if (next.SyncInterval <= 0)
        {
            throw new SwarmChannelException("protocol", 200, Invariant($"the SL node at {SocketPath} gave a sync interval of {next.SyncInterval}; it must be positive"));
        }

        return next.SyncInterval;
    }

    /// <summary>
    /// <c>POST /v1/sessions/{id}/end</c>: sends the final local weights and waits, with no time limit, until every node
    /// has ended; returns the final swarm model (the same on every node).
    /// </summary>
    public Task<SwarmSyncResult> EndAsync(string session, TensorModel local, CancellationToken cancellationToken = default) =>
        SendModelAsync(session, "end", local, Timeout.InfiniteTimeSpan, cancellationToken);

    /// <summary><c>DELETE /v1/sessions/{id}</c>: abandons the session (the program is going away).</summary>
    public async Task AbandonAsync(string session, CancellationToken cancellationToken = default)
    {
        using var response = await SendAsync(HttpMethod.Delete, SessionPath(session, null), null, RequestTimeout, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Closes the connections and deletes the staging directory it created.</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        _http.Dispose();
        try
        {
            if (_ownsScratch && Directory.Exists(_scratch))
            {
                Directory.Delete(_scratch, recursive: true);
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            Log.ScratchNotDeleted(_logger, _scratch, e.Message);
        }
    }

    /// <inheritdoc cref="Dispose"/>
    public ValueTask DisposeAsync()
    {
        Dispose();
        return ValueTask.CompletedTask;
    }

    private static string SessionPath(string session, string? action)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(session);
        var path = "v1/sessions/" + Uri.EscapeDataString(session);
        return action is null ? path : path + "/" + action;
    }

    private static ByteArrayContent JsonContent<T>(T value, JsonTypeInfo<T> type)
    {
        var content = new ByteArrayContent(JsonSerializer.SerializeToUtf8Bytes(value, type));
        content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        return content;
    }

    private async Task<T> SendJsonAsync<T>(HttpMethod method, string path, HttpContent? body, JsonTypeInfo<T> type, TimeSpan timeout, CancellationToken cancellationToken)
    {
        using var response = await SendAsync(method, path, body, timeout, cancellationToken).ConfigureAwait(false);
        try
        {
            var text = await response.Content.ReadAsByteArrayAsync(cancellationToken).ConfigureAwait(false);
            return JsonSerializer.Deserialize(text, type)
                ?? throw new JsonException("the answer is JSON null");
        }
        catch (JsonException e)
        {
            throw new SwarmChannelException("protocol", (int)response.StatusCode, $"the SL node at {SocketPath} answered {method} /{path} with JSON this client cannot read ({e.Message}); is it an SL node of channel version {ApiVersion}?", e);
        }
    }

    private async Task<SwarmSyncResult> SendModelAsync(string session, string action, TensorModel model, TimeSpan timeout, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(model);
        var path = SessionPath(session, action);
        Directory.CreateDirectory(_scratch);
        var outgoing = Path.Combine(_scratch, $"{action}-out-{Guid.NewGuid():N}.safetensors");
        try
        {
            SafetensorsWriter.Write(outgoing, model);
        }
        catch (ModelFormatException e)
        {
            throw new SwarmException($"the local model cannot be sent to the SL node: tensor '{e.Tensor}': {e.Problem}", e);
        }

        var file = new FileStream(outgoing, FileMode.Open, FileAccess.Read, FileShare.Read | FileShare.Delete, 1 << 16, FileOptions.Asynchronous | FileOptions.DeleteOnClose | FileOptions.SequentialScan);
        var body = new StreamContent(file, 1 << 16);
        body.Headers.ContentType = new MediaTypeHeaderValue(ModelMediaType);
        body.Headers.ContentLength = file.Length;
        using var response = await SendAsync(HttpMethod.Post, path, body, timeout, cancellationToken).ConfigureAwait(false);
        if (response.Content.Headers.ContentType?.MediaType is { } media && !string.Equals(media, ModelMediaType, StringComparison.OrdinalIgnoreCase))
        {
            throw new SwarmChannelException("protocol", (int)response.StatusCode, $"the SL node at {SocketPath} answered POST /{path} with {media}, not a model ({ModelMediaType})");
        }

        var round = long.TryParse(HeaderValue(response, RoundHeader), NumberStyles.None, CultureInfo.InvariantCulture, out var r) ? r : throw MissingHeader(response, RoundHeader, path);
        var contributed = bool.TryParse(HeaderValue(response, ContributedHeader), out var c) ? c : throw MissingHeader(response, ContributedHeader, path);
        var over = bool.TryParse(HeaderValue(response, TrainingOverHeader), out var o) ? o : throw MissingHeader(response, TrainingOverHeader, path);
        var hash = response.Headers.TryGetValues(HashHeader, out var values) ? values.FirstOrDefault() ?? "" : "";

        var incoming = Path.Combine(_scratch, $"{action}-in-{Guid.NewGuid():N}.safetensors");
        try
        {
            var stream = new FileStream(incoming, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16, FileOptions.Asynchronous);
            await using (stream.ConfigureAwait(false))
            {
                await response.Content.CopyToAsync(stream, cancellationToken).ConfigureAwait(false);
            }

            using var received = SafetensorsFile.Open(incoming);
            var loaded = received.LoadModel();
            // The model's name shows in errors (a tensor the program's model does not have): say where it came from.
            var name = action switch
            {
                "begin" => Invariant($"the SL node's starting model (round {round})"),
                "end" => Invariant($"the SL node's final model (round {round})"),
                _ => Invariant($"the SL node's merged model (round {round})"),
            };
            var named = new TensorModel(loaded.NamedTensors, loaded.Metadata, name);
            return new SwarmSyncResult(named, round, hash, contributed, over);
        }
        catch (ModelFormatException e)
        {
            throw new SwarmChannelException("protocol", (int)response.StatusCode, $"the SL node at {SocketPath} answered POST /{path} with a model that is not valid: {e.Problem}", e);
        }
        finally
        {
            File.Delete(incoming);
        }
    }

    private static string? HeaderValue(HttpResponseMessage response, string name) =>
        response.Headers.TryGetValues(name, out var values) ? values.FirstOrDefault()?.Trim() : null;

    private SwarmChannelException MissingHeader(HttpResponseMessage response, string name, string path) =>
        new("protocol", (int)response.StatusCode, $"the SL node at {SocketPath} answered POST /{path} without a valid {name} header; is it an SL node of channel version {ApiVersion}?");

    /// <summary>Sends one request; a non-success answer becomes a <see cref="SwarmChannelException"/> with the node's message.</summary>
    private async Task<HttpResponseMessage> SendAsync(HttpMethod method, string path, HttpContent? body, TimeSpan timeout, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(method, path) { Content = body };
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        using var limit = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        if (timeout != Timeout.InfiniteTimeSpan)
        {
            limit.CancelAfter(timeout);
        }

        var clock = Stopwatch.StartNew();
        using var done = new CancellationTokenSource();
        var reporter = ReportWaitsAsync(method, path, clock, done.Token);
        HttpResponseMessage response;
        try
        {
            response = await _http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, limit.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException e) when (!cancellationToken.IsCancellationRequested)
        {
            throw new SwarmChannelException("timeout", 0, Invariant($"no answer from the SL node at {SocketPath} to {method} /{path} within {Describe(timeout)}; its log says what it waits for"), e);
        }
        catch (HttpRequestException e)
        {
            // .NET reports a missing socket file as "Cannot assign requested address": say what it means.
            var reason = File.Exists(SocketPath) ? Reason(e) : "there is no socket there";
            throw new SwarmChannelException("unreachable", 0, $"cannot reach the SL node at {SocketPath}: {reason}. Is 'swarm sl' running, and does {SwarmCallbackOptions.SocketVariable} (or the socket option) name its socket?", e);
        }
        finally
        {
            await done.CancelAsync().ConfigureAwait(false);
            await reporter.ConfigureAwait(false);
        }

        if (response.IsSuccessStatusCode)
        {
            return response;
        }

        using (response)
        {
            throw await ErrorAsync(method, path, response, cancellationToken).ConfigureAwait(false);
        }
    }

    private async Task<SwarmChannelException> ErrorAsync(HttpMethod method, string path, HttpResponseMessage response, CancellationToken cancellationToken)
    {
        var status = (int)response.StatusCode;
        string text;
        try
        {
            text = await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (HttpRequestException e)
        {
            text = e.Message;
        }

        try
        {
            if (JsonSerializer.Deserialize(text, ChannelJson.Default.ChannelError) is { Message: { Length: > 0 } message } error)
            {
                return new SwarmChannelException(error.Error ?? KindOf(status), status, message);
            }
        }
        catch (JsonException)
        {
            // Not the channel's error shape: report what came instead.
        }

        var shown = text.Length > 300 ? text[..300] + "…" : text;
        return new SwarmChannelException(KindOf(status), status, Invariant($"the SL node at {SocketPath} answered {method} /{path} with {status} {response.ReasonPhrase}{(shown.Length > 0 ? ": " + shown : "")}"));
    }

    private async Task ReportWaitsAsync(HttpMethod method, string path, Stopwatch clock, CancellationToken done)
    {
        try
        {
            while (true)
            {
                await Task.Delay(WaitLogInterval, done).ConfigureAwait(false);
                Log.StillWaiting(_logger, method.Method, path, clock.Elapsed.TotalSeconds);
            }
        }
        catch (OperationCanceledException)
        {
            // The answer came.
        }
    }

    private static string KindOf(int status) => status switch
    {
        400 => "invalid",
        404 => "notFound",
        409 => "conflict",
        503 => "unavailable",
        _ => "failed",
    };

    private static string Reason(HttpRequestException e) =>
        e.InnerException is SocketException s ? s.Message : e.Message;

    private static string Describe(TimeSpan t) =>
        t.TotalHours >= 1 ? Invariant($"{t.TotalHours:0.#} h") : t.TotalMinutes >= 1 ? Invariant($"{t.TotalMinutes:0.#} min") : Invariant($"{t.TotalSeconds:0.#} s");

    private static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);

    private static partial class Log
    {
        [LoggerMessage(1, LogLevel.Information, "Still waiting for the SL node's answer to {Method} /{Path}: {Seconds:0} s so far (its log says what it waits for)")]
        public static partial void StillWaiting(ILogger logger, string method, string path, double seconds);

        [LoggerMessage(2, LogLevel.Debug, "Could not delete the staging directory {Directory}: {Reason}")]
        public static partial void ScratchNotDeleted(ILogger logger, string directory, string reason);
    }
}
