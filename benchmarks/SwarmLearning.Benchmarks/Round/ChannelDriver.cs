using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;

namespace SwarmLearning.Benchmarks.Round;

/// <summary>
/// The ML program's side of one SL node's local channel (docs/local-channel.md): HTTP/1.1 over its Unix socket. It
/// posts model bytes and drains the answer, recording when the request body was fully sent and when the answer was
/// fully received.
/// </summary>
internal sealed class ChannelDriver : IDisposable
{
    private readonly HttpClient _http;
    private string? _session;

    public ChannelDriver(string name, string socketPath)
    {
        Name = name;
        var handler = new SocketsHttpHandler
        {
            ConnectCallback = async (_, cancellationToken) =>
            {
                var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
                try
                {
                    await socket.ConnectAsync(new UnixDomainSocketEndPoint(socketPath), cancellationToken).ConfigureAwait(false);
                    return new NetworkStream(socket, ownsSocket: true);
                }
                catch
                {
                    socket.Dispose();
                    throw;
                }
            },
        };
        _http = new HttpClient(handler) { BaseAddress = new Uri("http://localhost"), Timeout = Timeout.InfiniteTimeSpan };
    }

    public string Name { get; }

    /// <summary>Opens the session: minPeers = every node, so every round waits for all of them.</summary>
    public async Task OpenAsync(int minPeers, CancellationToken cancellationToken)
    {
        using var content = new StringContent($$"""{"syncFrequency":1,"minPeers":{{minPeers}},"apiVersion":2}""", Encoding.UTF8, "application/json");
        using var response = await _http.PostAsync(new Uri("/v1/sessions", UriKind.Relative), content, cancellationToken).ConfigureAwait(false);
        var text = await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false);
        if (response.StatusCode != HttpStatusCode.Created)
        {
            throw new InvalidOperationException($"{Name}: opening a session answered {(int)response.StatusCode}: {text}");
        }

        using var json = JsonDocument.Parse(text);
        _session = json.RootElement.GetProperty("session").GetString();
    }

    /// <summary>Posts <paramref name="model"/> to <c>begin</c> or <c>sync</c> and drains the merged model it answers with.</summary>
    public async Task<CallTiming> CallAsync(string call, ModelBytes model, CancellationToken cancellationToken)
    {
        var started = Stopwatch.GetTimestamp();
        using var content = new TimedContent(model);
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri($"/v1/sessions/{_session}/{call}", UriKind.Relative)) { Content = content };
        using var response = await _http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken).ConfigureAwait(false);
        if (!response.IsSuccessStatusCode)
        {
            var error = await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false);
            throw new InvalidOperationException($"{Name}: {call} answered {(int)response.StatusCode}: {error}");
        }

        var body = await response.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
        long received = 0;
        await using (body.ConfigureAwait(false))
        {
            var buffer = new byte[1 << 20];
            int read;
            while ((read = await body.ReadAsync(buffer, cancellationToken).ConfigureAwait(false)) > 0)
            {
                received += read;
            }
        }

        var finished = Stopwatch.GetTimestamp();
        var expected = response.Content.Headers.ContentLength;
        if (expected != received)
        {
            throw new InvalidOperationException($"{Name}: {call} answered {received} bytes, but Content-Length said {expected}");
        }

        var round = response.Headers.TryGetValues("Swarm-Round", out var r) ? long.Parse(r.Single(), System.Globalization.CultureInfo.InvariantCulture) : -1;
        var hash = response.Headers.TryGetValues("Swarm-Model-Hash", out var s) ? s.Single() : "";
        return new CallTiming(Name, started, content.SentAt, finished, round, hash, received);
    }

    public void Dispose() => _http.Dispose();

    /// <summary>A model body, generated as it is sent, that records when its last byte was handed to the socket.</summary>
    private sealed class TimedContent : HttpContent
    {
        private readonly ModelBytes _model;

        public TimedContent(ModelBytes model)
        {
            _model = model;
            Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
        }

        public long SentAt { get; private set; }

        protected override async Task SerializeToStreamAsync(Stream stream, TransportContext? context) =>
            await SerializeToStreamAsync(stream, context, CancellationToken.None).ConfigureAwait(false);

        protected override async Task SerializeToStreamAsync(Stream stream, TransportContext? context, CancellationToken cancellationToken)
        {
            await _model.WriteToAsync(stream, cancellationToken).ConfigureAwait(false);
            await stream.FlushAsync(cancellationToken).ConfigureAwait(false);
            SentAt = Stopwatch.GetTimestamp();
        }

        protected override bool TryComputeLength(out long length)
        {
            length = _model.Length;
            return true;
        }
    }
}

/// <summary>One begin or sync call as the ML program saw it (Stopwatch timestamps).</summary>
internal sealed record CallTiming(string Node, long Started, long Sent, long Received, long Round, string Hash, long Bytes);
