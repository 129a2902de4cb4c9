using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using SwarmLearning.Identity;
using SwarmLearning.Ledger.Contracts;
using SwarmLearning.Ledger.Transactions;
using SwarmLearning.Network.Client;
using SwarmLearning.Network.Hosting;
using SwarmLearning.Network.Peer;

namespace SwarmLearning.Network.Tests;

/// <summary>
/// The SN API under hostile input (issue 6 §3, docs/security.md): each refusal is a 4xx with an
/// <c>{"error", "message"}</c> body saying what was wrong, a warning in the SN's log naming the peer, and the SN
/// serves the next request. Replayed and forged transactions are in
/// <see cref="ReplicationTests.The_API_refuses_forged_replayed_and_revoked_transactions_with_a_reason"/>.
/// </summary>
public sealed class HostileInputTests
{
    private static RegisterPayload Registration(SwarmIdentity id) => new()
    {
        Role = SwarmRoles.ToName(id.Role),
        Name = id.Name,
        Certificate = Convert.ToBase64String(id.Certificate.RawData),
        Host = "localhost",
        FilePort = 30305,
    };

    private static HttpClient Http(TestNetwork net, string identity, SwarmRole role = SwarmRole.Sl) =>
        new(SwarmTls.CreateClientHandler(net.Identity(identity, role), net.Trust), disposeHandler: true) { Timeout = TestNetwork.Patience };

    private static Uri Api(RunningNetworkNode node, string path) => new($"https://localhost:{node.Node.Options.ApiPort}{path}");

    private static async Task<(HttpStatusCode Status, string Error, string Message)> ErrorOf(HttpResponseMessage response)
    {
        var (error, message) = RawHttps.ErrorOf(await response.Content.ReadAsStringAsync());
        return (response.StatusCode, error, message);
    }

    private static async Task<HttpResponseMessage> PostAsync(HttpClient http, Uri uri, HttpContent content) => await http.PostAsync(uri, content);

    private static ByteArrayContent TransactionContent(byte[] bytes, string? mediaType = ForwardingOrderer.TransactionContentType)
    {
        var content = new ByteArrayContent(bytes);
        content.Headers.ContentType = mediaType is null ? null : new MediaTypeHeaderValue(mediaType);
        return content;
    }

    /// <summary>The SN still answers: the test's last word after every refusal.</summary>
    private static async Task AssertStillServesAsync(SwarmNetworkClient client) => Assert.True((await client.GetStatusAsync()).Height >= 0);

    [Fact]
    public async Task A_signed_transaction_whose_payload_is_not_JSON_is_400_naming_the_type_and_the_field()
    {
        await using var net = new TestNetwork();
        var sentinel = await net.StartSentinelAsync();
        var sl = net.Client(sentinel, "sl1", SwarmRole.Sl);
        await sl.SubmitAsync(TransactionTypes.Register, Registration(sl.Identity), PayloadJson.Default.RegisterPayload);

        var broken = await sl.CreateAsync(TransactionTypes.RoundReady, """{"contract":"defaultbb.cqdb.sml.hpe","round":1,"weight":"""u8.ToArray());
        var e = await Assert.ThrowsAsync<TransactionRejectedException>(() => sl.SubmitAsync(broken));

        Assert.Equal(RejectionKind.Invalid, e.Kind);
        Assert.StartsWith("round.ready payload at $", e.Message, StringComparison.Ordinal); // names the field where it broke
        Assert.Contains(net.Logs.Lines, l => l.Contains("Refused POST /v1/transactions from 'sl1'", StringComparison.Ordinal) && l.Contains("round.ready payload", StringComparison.Ordinal));
        await AssertStillServesAsync(sl);
    }

    [Fact]
    public async Task A_body_larger_than_a_transaction_is_413_with_or_without_a_Content_Length()
    {
        await using var net = new TestNetwork();
        var sentinel = await net.StartSentinelAsync();
        using var http = Http(net, "sl1");
        var oversized = new byte[Transaction.MaxEncodedSize + 1];

        using (var response = await PostAsync(http, Api(sentinel, "/v1/transactions"), TransactionContent(oversized)))
        {
            var (status, error, message) = await ErrorOf(response);
            Assert.Equal(HttpStatusCode.RequestEntityTooLarge, status);
            Assert.Equal("invalid", error);
            Assert.Contains($"larger than a transaction may be ({Transaction.MaxEncodedSize} bytes; this one is {oversized.Length})", message, StringComparison.Ordinal);
        }

        // Chunked, so the SN cannot refuse by the header and must stop reading at the limit. (The SN closes the
        // connection on what it did not read; a small excess fits the socket's buffers, so the client reads the answer.)
        using var chunked = new StreamContent(new UnseekableStream(new byte[Transaction.MaxEncodedSize + 8192]));
        chunked.Headers.ContentType = new MediaTypeHeaderValue(ForwardingOrderer.TransactionContentType);
        using (var response = await PostAsync(http, Api(sentinel, "/v1/transactions"), chunked))
        {
            var (status, _, message) = await ErrorOf(response);
            Assert.Equal(HttpStatusCode.RequestEntityTooLarge, status);
            Assert.Contains("send one transaction per request", message, StringComparison.Ordinal);
        }

        Assert.Contains(net.Logs.Lines, l => l.Contains("Refused POST /v1/transactions from 'sl1'", StringComparison.Ordinal) && l.Contains("413", StringComparison.Ordinal));
        await AssertStillServesAsync(net.Client(sentinel, "sl1", SwarmRole.Sl));
    }

    [Theory]
    [InlineData("application/json", "this request has Content-Type 'application/json'")]
    [InlineData("text/plain", "this request has Content-Type 'text/plain'")]
    [InlineData(null, "this request has no Content-Type")]
    public async Task A_transaction_of_another_content_type_is_415_and_the_same_bytes_with_the_right_one_are_ordered(string? mediaType, string expected)
    {
        await using var net = new TestNetwork();
        var sentinel = await net.StartSentinelAsync();
        var sl = net.Client(sentinel, "sl1", SwarmRole.Sl);
        var register = await sl.CreateAsync(TransactionTypes.Register, JsonSerializer.SerializeToUtf8Bytes(Registration(sl.Identity), PayloadJson.Default.RegisterPayload));
        using var http = Http(net, "sl1");

        using (var response = await PostAsync(http, Api(sentinel, "/v1/transactions"), TransactionContent(register.Encoded.ToArray(), mediaType)))
        {
            var (status, error, message) = await ErrorOf(response);
            Assert.Equal(HttpStatusCode.UnsupportedMediaType, status);
            Assert.Equal("invalid", error);
            Assert.Contains($"Content-Type '{ForwardingOrderer.TransactionContentType}'; {expected}", message, StringComparison.Ordinal);
        }

        Assert.False(sentinel.Node.Chain.State!.Members.ContainsKey(sl.Identity.Fingerprint));
        using (var response = await PostAsync(http, Api(sentinel, "/v1/transactions"), TransactionContent(register.Encoded.ToArray())))
        {
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }

        Assert.True(sentinel.Node.Chain.State!.Members.ContainsKey(sl.Identity.Fingerprint));
    }

    [Fact]
    public async Task A_transaction_whose_sequence_is_below_the_last_accepted_is_409_out_of_order()
    {
        await using var net = new TestNetwork();
        var sentinel = await net.StartSentinelAsync();
        var sl = net.Client(sentinel, "sl1", SwarmRole.Sl);
        await sl.SubmitAsync(TransactionTypes.Register, Registration(sl.Identity), PayloadJson.Default.RegisterPayload);
        var earlier = await sl.CreateAsync(TransactionTypes.Heartbeat, "{}"u8.ToArray());
        var later = await sl.CreateAsync(TransactionTypes.Heartbeat, "{}"u8.ToArray());
        Assert.Equal(earlier.Sequence + 1, later.Sequence);

        await sl.SubmitAsync(later);
        var e = await Assert.ThrowsAsync<TransactionRejectedException>(() => sl.SubmitAsync(earlier));

        Assert.Equal(RejectionKind.Replay, e.Kind);
        Assert.Contains($"replayed or out of order: sequence {earlier.Sequence} is not above {later.Sequence}", e.Message, StringComparison.Ordinal);
        Assert.Equal(later.Sequence, sentinel.Node.Chain.State!.Sequences[sl.Identity.Fingerprint]);
        Assert.Contains(net.Logs.Lines, l => l.Contains("from 'sl1'", StringComparison.Ordinal) && l.Contains("409 ", StringComparison.Ordinal));
        await AssertStillServesAsync(sl);
    }

    [Fact]
    public async Task A_submission_for_a_round_the_sender_is_not_a_participant_of_is_403()
    {
        await using var net = new TestNetwork();
        var sentinel = await net.StartSentinelAsync();
        var sl1 = net.Client(sentinel, "sl1", SwarmRole.Sl);
        var sl2 = net.Client(sentinel, "sl2", SwarmRole.Sl);
        var outsider = net.Client(sentinel, "sl3", SwarmRole.Sl);
        foreach (var client in new[] { sl1, sl2 })
        {
            await client.SubmitAsync(TransactionTypes.Register, Registration(client.Identity), PayloadJson.Default.RegisterPayload);
        }

        foreach (var client in new[] { sl1, sl2 })
        {
            await client.SubmitAsync(TransactionTypes.RoundReady,
                new ReadyPayload { Contract = LedgerDefaults.HpeDefaultContract, Round = 1, Weight = 1, MinPeers = 2 }, PayloadJson.Default.ReadyPayload);
        }

        await TestNetwork.WaitUntilAsync(sentinel.Node.Chain, s => s.Contracts[LedgerDefaults.HpeDefaultContract].Round.Phase == RoundPhase.Closed, "round 1 closed with sl1 and sl2");
        await outsider.SubmitAsync(TransactionTypes.Register, Registration(outsider.Identity), PayloadJson.Default.RegisterPayload);

        var submit = new SubmitPayload { Contract = LedgerDefaults.HpeDefaultContract, Round = 1, ModelHash = new string('a', 64), Size = 100 };
        var e = await Assert.ThrowsAsync<TransactionRejectedException>(() => outsider.SubmitAsync(TransactionTypes.RoundSubmit, submit, PayloadJson.Default.SubmitPayload));

        Assert.Equal(RejectionKind.Forbidden, e.Kind);
        Assert.Contains("'sl3' is not a participant of round 1", e.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(outsider.Identity.Fingerprint, sentinel.Node.Chain.State!.Contracts[LedgerDefaults.HpeDefaultContract].Round.Submissions.Keys);
        Assert.Contains(net.Logs.Lines, l => l.Contains("from 'sl3'", StringComparison.Ordinal) && l.Contains("403 ", StringComparison.Ordinal));

        // A participant's submission still goes through.
        await sl1.SubmitAsync(TransactionTypes.RoundSubmit, submit, PayloadJson.Default.SubmitPayload);
    }

    [Fact]
    public async Task A_malformed_parameter_is_400_naming_it_and_unknown_paths_and_methods_answer_JSON()
    {
        await using var net = new TestNetwork();
        var sentinel = await net.StartSentinelAsync();
        using var http = Http(net, "sl1");

        using (var response = await http.GetAsync(Api(sentinel, "/v1/blocks?from=abc")))
        {
            var (status, error, message) = await ErrorOf(response);
            Assert.Equal(HttpStatusCode.BadRequest, status);
            Assert.Equal("invalid", error);
            Assert.Contains("from", message, StringComparison.Ordinal);
            Assert.Contains("\"abc\"", message, StringComparison.Ordinal);
        }

        using (var response = await http.GetAsync(Api(sentinel, "/v1/no-such-thing")))
        {
            var (status, error, message) = await ErrorOf(response);
            Assert.Equal(HttpStatusCode.NotFound, status);
            Assert.Equal("notFound", error);
            Assert.Contains("/v1/no-such-thing", message, StringComparison.Ordinal);
        }

        using (var response = await PostAsync(http, Api(sentinel, "/v1/status"), new StringContent("{}", Encoding.UTF8, "application/json")))
        {
            var (status, _, message) = await ErrorOf(response);
            Assert.Equal(HttpStatusCode.MethodNotAllowed, status);
            Assert.Contains("POST is not allowed on /v1/status", message, StringComparison.Ordinal);
        }

        using (var response = await http.GetAsync(Api(sentinel, "/v1/blocks?from=0&limit=1")))
        {
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }
    }

    [Fact]
    public async Task A_peer_over_its_request_limit_is_429_with_a_Retry_After_others_are_not_and_it_is_served_again_after_the_window()
    {
        await using var net = new TestNetwork();
        var options = net.Options("sn0", sentinel: true);
        options.RequestsPerPeer = 5;
        options.RequestWindow = TimeSpan.FromSeconds(1);
        var sentinel = await net.StartAsync(options, "sn0");
        using var noisy = Http(net, "sl1");
        using var quiet = Http(net, "sl2");
        var status = Api(sentinel, "/v1/status");

        // Five per window: within at most 2 × 5 + 1 requests one is refused, however the windows fall.
        var served = 0;
        HttpResponseMessage? refused = null;
        for (var i = 0; i < 11 && refused is null; i++)
        {
            var response = await noisy.GetAsync(status);
            if (response.StatusCode == HttpStatusCode.TooManyRequests)
            {
                refused = response;
            }
            else
            {
                Assert.Equal(HttpStatusCode.OK, response.StatusCode);
                served++;
                response.Dispose();
            }
        }

        Assert.NotNull(refused);
        using (refused)
        {
            Assert.True(served >= 5, $"only {served} requests were served before the first 429");
            var retryAfter = refused.Headers.RetryAfter?.Delta;
            Assert.NotNull(retryAfter);
            Assert.InRange(retryAfter.Value, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(2));
            var (_, error, message) = await ErrorOf(refused);
            Assert.Equal("rateLimited", error);
            Assert.Contains("too many requests from 'sl1'", message, StringComparison.Ordinal);
            Assert.Contains("at most 5 requests per 1 s", message, StringComparison.Ordinal);

            // Another peer has its own allowance.
            using (var other = await quiet.GetAsync(status))
            {
                Assert.Equal(HttpStatusCode.OK, other.StatusCode);
            }

            // A client that honours Retry-After is served again; the window may end up to one limiter tick (0.1 s)
            // late, so a second wait is allowed, no more.
            var attempts = 0;
            HttpStatusCode again;
            do
            {
                await Task.Delay(retryAfter.Value);
                using var response = await noisy.GetAsync(status);
                again = response.StatusCode;
                attempts++;
            }
            while (again == HttpStatusCode.TooManyRequests && attempts < 2);

            Assert.Equal(HttpStatusCode.OK, again);
        }

        Assert.Contains(net.Logs.Lines, l => l.Contains("Rate limit: 'sl1'", StringComparison.Ordinal) && l.Contains("more than 5 requests in 1 s", StringComparison.Ordinal));
    }

    /// <summary>A stream without a length, so that HttpClient sends it chunked.</summary>
    private sealed class UnseekableStream(byte[] bytes) : MemoryStream(bytes)
    {
        public override bool CanSeek => false;
    }
}
