using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using SwarmLearning.Tensors;

namespace SwarmLearning.Node.Tests.Harness;

/// <summary>An ML program's side of the local channel, as a test drives it: HTTP/1.1 over the SL node's Unix socket.</summary>
internal sealed class ChannelClient : IDisposable
{
    private readonly HttpClient _http;

    public ChannelClient(string socketPath)
    {
        var handler = new SocketsHttpHandler
        {
            ConnectCallback = async (_, cancellationToken) =>
            {
                var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
                try
                {
                    await socket.ConnectAsync(new UnixDomainSocketEndPoint(socketPath), cancellationToken);
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

    public async Task<(HttpStatusCode Status, JsonElement Body)> GetAsync(string path)
    {
        using var response = await _http.GetAsync(path);
        return (response.StatusCode, await JsonOf(response));
    }

    public Task<(HttpStatusCode Status, JsonElement Body)> PostJsonAsync(string path, string json) => PostTextAsync(path, json, "application/json");

    public async Task<(HttpStatusCode Status, JsonElement Body)> PostTextAsync(string path, string text, string mediaType)
    {
        using var content = new StringContent(text, Encoding.UTF8, mediaType);
        using var response = await _http.PostAsync(path, content);
        return (response.StatusCode, await JsonOf(response));
    }

    public async Task<HttpStatusCode> DeleteAsync(string path)
    {
        using var response = await _http.DeleteAsync(path);
        return response.StatusCode;
    }

    /// <summary>Opens a session; fails the test with the node's message if it refuses.</summary>
    public async Task<string> OpenAsync(string json)
    {
        var (status, body) = await PostJsonAsync("/v1/sessions", json);
        Assert.True(status == HttpStatusCode.Created, $"opening a session answered {(int)status}: {body}");
        return body.GetProperty("session").GetString()!;
    }

    public Task<SyncAnswer> PostModelAsync(string path, TensorModel model) => PostBytesAsync(path, Models.Bytes(model));

    /// <summary>begin, sync or end of <paramref name="session"/>; fails the test with the node's message unless it answers 200.</summary>
    public async Task<SyncAnswer> CallAsync(string session, string call, TensorModel model)
    {
        var answer = await PostModelAsync($"/v1/sessions/{session}/{call}", model);
        Assert.True(answer.Status == HttpStatusCode.OK, $"{call}: {(int)answer.Status} {answer.ErrorMessage}");
        return answer;
    }

    public Task<SyncAnswer> PostBytesAsync(string path, byte[] bytes, string? mediaType = "application/octet-stream") =>
        PostAsync(path, new ByteArrayContent(bytes), mediaType);

    /// <summary>Posts <paramref name="bytes"/> without a Content-Length (chunked), as a program streaming a model would.</summary>
    public Task<SyncAnswer> PostChunkedAsync(string path, byte[] bytes) =>
        PostAsync(path, new StreamContent(new UnseekableStream(bytes)), "application/octet-stream");

    private async Task<SyncAnswer> PostAsync(string path, HttpContent request, string? mediaType)
    {
        using var content = request;
        content.Headers.ContentType = mediaType is null ? null : new MediaTypeHeaderValue(mediaType);
        using var response = await _http.PostAsync(path, content);
        var body = await response.Content.ReadAsByteArrayAsync();
        if (!response.IsSuccessStatusCode)
        {
            return new SyncAnswer(response.StatusCode, null, 0, "", false, false, body, JsonDocument.Parse(body).RootElement.Clone());
        }

        Assert.Equal("application/octet-stream", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal(body.Length, response.Content.Headers.ContentLength);
        return new SyncAnswer(
            response.StatusCode,
            Models.Parse(body),
            long.Parse(Header(response, "Swarm-Round"), System.Globalization.CultureInfo.InvariantCulture),
            Header(response, "Swarm-Model-Hash"),
            bool.Parse(Header(response, "Swarm-Contributed")),
            bool.Parse(Header(response, "Swarm-Training-Over")),
            body,
            null);
    }

    private static string Header(HttpResponseMessage response, string name) =>
        response.Headers.TryGetValues(name, out var values) ? values.Single() : throw new Xunit.Sdk.XunitException($"the answer has no {name} header");

    private static async Task<JsonElement> JsonOf(HttpResponseMessage response)
    {
        var text = await response.Content.ReadAsStringAsync();
        return text.Length == 0 ? default : JsonDocument.Parse(text).RootElement.Clone();
    }

    public void Dispose() => _http.Dispose();

    /// <summary>A stream without a length, so that HttpClient sends it chunked.</summary>
    private sealed class UnseekableStream(byte[] bytes) : MemoryStream(bytes)
    {
        public override bool CanSeek => false;
    }
}

/// <summary>The answer to begin, sync or end.</summary>
internal sealed record SyncAnswer(HttpStatusCode Status, TensorModel? Model, long Round, string Hash, bool Contributed, bool TrainingOver, byte[] Body, JsonElement? Error)
{
    public string ErrorMessage => Error?.GetProperty("message").GetString() ?? "";

    public string ErrorKind => Error?.GetProperty("error").GetString() ?? "";
}
