using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using SwarmLearning.Identity;
using SwarmLearning.Ledger.Contracts;
using SwarmLearning.Ledger.Transactions;
using System.Security.Cryptography.X509Certificates;

namespace SwarmLearning.Network.Tests;

/// <summary>Issue 6 §2 on real SN hosts: only enrolled, unrevoked identities get answers, on every port, and TLS below it is strict.</summary>
public sealed class AdmissionTests
{
    private static RegisterPayload Registration(SwarmIdentity id) => new()
    {
        Role = SwarmRoles.ToName(id.Role),
        Name = id.Name,
        Certificate = Convert.ToBase64String(id.Certificate.RawData),
    };

    private static EnrolPayload Enrolment(SwarmIdentity id) => TestNetwork.Enrolment(id);

    [Fact]
    public async Task A_valid_certificate_that_is_not_enrolled_is_refused_with_the_reason_until_an_administrator_enrols_it()
    {
        await using var net = new TestNetwork();
        var sentinel = await net.StartSentinelAsync();
        var follower = await net.StartFollowerAsync("sn1", sentinel, sentinel);
        var onSentinel = net.Client(sentinel, "sl1", SwarmRole.Sl, enrol: false);
        var onFollower = net.Client(follower, "sl1", SwarmRole.Sl, enrol: false);

        // Refused at connection: a read, and the registration, on the sentinel and on a follower alike.
        var read = await Assert.ThrowsAsync<SwarmException>(() => onSentinel.GetStatusAsync());
        Assert.Contains("403", read.Message, StringComparison.Ordinal);
        Assert.Contains("'sl1'", read.Message, StringComparison.Ordinal);
        Assert.Contains("not enrolled", read.Message, StringComparison.Ordinal);
        Assert.Contains("swarm ctl enrol", read.Message, StringComparison.Ordinal);
        var tx = Ledger.Transactions.Transaction.Create(onSentinel.Identity, sentinel.Node.Chain.ChainId.Span, TransactionTypes.Register, 1,
            System.Text.Json.JsonSerializer.SerializeToUtf8Bytes(Registration(onSentinel.Identity), PayloadJson.Default.RegisterPayload));
        foreach (var client in new[] { onSentinel, onFollower })
        {
            var refused = await Assert.ThrowsAsync<TransactionRejectedException>(() => client.SubmitAsync(tx));
            Assert.Equal(RejectionKind.Forbidden, refused.Kind);
            Assert.Contains("not enrolled", refused.Message, StringComparison.Ordinal);
        }

        Assert.False(sentinel.Node.Chain.State!.Members.ContainsKey(onSentinel.Identity.Fingerprint));

        // An administrator (the sentinel) enrols it: it may connect, through any SN, and register.
        await sentinel.Node.EnrolAsync(Enrolment(onSentinel.Identity));
        await TestNetwork.WaitUntilAsync(follower.Node.Chain, s => s.Enrolments.ContainsKey(onSentinel.Identity.Fingerprint), "the follower holds the enrolment");
        await onFollower.SubmitAsync(TransactionTypes.Register, Registration(onFollower.Identity), PayloadJson.Default.RegisterPayload);
        Assert.True(follower.Node.Chain.State!.Members.ContainsKey(onFollower.Identity.Fingerprint));
        Assert.Contains(await onSentinel.GetEnrolmentsAsync(), e => e.Name == "sl1" && e.Registered && !e.Revoked);
    }

    [Fact]
    public async Task An_SN_that_is_not_the_sentinel_nor_an_administrator_cannot_enrol()
    {
        await using var net = new TestNetwork();
        var sentinel = await net.StartSentinelAsync();
        var follower = await net.StartFollowerAsync("sn1", sentinel, sentinel);
        var stranger = net.Identity("sl7", SwarmRole.Sl, enrol: false);
        var e = await Assert.ThrowsAsync<TransactionRejectedException>(() => follower.Node.EnrolAsync(Enrolment(stranger)));
        Assert.Equal(RejectionKind.Forbidden, e.Kind);
        Assert.Contains("not an administrator", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Revocation_refuses_the_next_request_on_an_open_connection_and_ends_a_block_stream_after_the_revoking_block()
    {
        await using var net = new TestNetwork();
        var sentinel = await net.StartSentinelAsync();
        var sl = net.Client(sentinel, "sl1", SwarmRole.Sl);
        await sl.SubmitAsync(TransactionTypes.Register, Registration(sl.Identity), PayloadJson.Default.RegisterPayload);
        await sl.GetStatusAsync(); // the connection is open and kept alive

        // A long block stream is under way (it would idle for 30 s) when the revocation comes.
        var blocks = new List<Ledger.Blocks.Block>();
        var target = sentinel.Node.Chain.Height;
        var caughtUp = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var streaming = Task.Run(async () =>
        {
            await foreach (var block in sl.StreamBlocksAsync(0, TimeSpan.FromSeconds(30)))
            {
                lock (blocks)
                {
                    blocks.Add(block);
                }

                if (block.Height >= target)
                {
                    caughtUp.TrySetResult();
                }
            }
        });
        await caughtUp.Task.WaitAsync(TestNetwork.Patience);

        var receipt = await sentinel.Node.RevokeAsync(sl.Identity.Fingerprint, "stolen laptop");
        await streaming.WaitAsync(TestNetwork.Patience); // ends: it would idle for 30 s, and heartbeats keep adding blocks
        var revoking = sentinel.Node.Chain.GetBlock(receipt.Height);
        Assert.Contains(blocks, b => b.Height == receipt.Height); // the revoked node learns of its revocation
        Assert.All(blocks, b => Assert.True(b.Timestamp <= revoking.Timestamp, $"block {b.Height}, after the revocation (block {receipt.Height}), was streamed to the revoked client"));

        var refused = await Assert.ThrowsAsync<SwarmException>(() => sl.GetStatusAsync());
        Assert.Contains("403", refused.Message, StringComparison.Ordinal);
        Assert.Contains("revoked", refused.Message, StringComparison.Ordinal);
        Assert.Contains("stolen laptop", refused.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_peer_port_serves_SNs_only()
    {
        await using var net = new TestNetwork();
        var sentinel = await net.StartSentinelAsync();
        var sl = net.Identity("sl1", SwarmRole.Sl);
        using var http = new HttpClient(SwarmTls.CreateClientHandler(sl, net.Trust));
        using var answer = await http.GetAsync(new Uri($"https://localhost:{sentinel.Node.Options.PeerPort}/peer/v1/blocks?from=0"));
        Assert.Equal(HttpStatusCode.Forbidden, answer.StatusCode);
        Assert.Contains("not an SN", await answer.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Both_ports_refuse_TLS_older_than_1_2_and_clients_without_a_certificate()
    {
        await using var net = new TestNetwork();
        var sentinel = await net.StartSentinelAsync();
        var sl = net.Identity("sl1", SwarmRole.Sl);
        foreach (var port in new[] { sentinel.Node.Options.ApiPort, sentinel.Node.Options.PeerPort })
        {
            // TLS 1.1 with a valid, enrolled identity: no handshake.
#pragma warning disable SYSLIB0039, CA5397 // TLS 1.1 on purpose: the server must refuse it
            Assert.False(await HandshakeAsync(port, SslProtocols.Tls11, sl, net.Trust), $"port {port} completed a TLS 1.1 handshake");
#pragma warning restore SYSLIB0039, CA5397
            Assert.True(await HandshakeAsync(port, SslProtocols.Tls12, sl, net.Trust), $"port {port} refused a TLS 1.2 handshake with a valid identity");

            // No client certificate: no HTTP answer.
            using var plain = new HttpClient(new SocketsHttpHandler { SslOptions = { RemoteCertificateValidationCallback = (_, c, _, _) => IsSwarmServer(c, net.Trust) } });
            await Assert.ThrowsAsync<HttpRequestException>(() => plain.GetAsync(new Uri($"https://localhost:{port}/v1/status")));
        }
    }

    private static bool IsSwarmServer(X509Certificate? certificate, SwarmTrust trust) =>
        certificate is X509Certificate2 c && trust.Validate(c, DateTimeOffset.UtcNow, SwarmRole.Sn).IsValid;

    /// <summary>True when a TLS handshake with only <paramref name="protocols"/> and <paramref name="identity"/> completes and the server then answers.</summary>
    private static async Task<bool> HandshakeAsync(int port, SslProtocols protocols, SwarmIdentity identity, SwarmTrust trust)
    {
        using var tcp = new TcpClient();
        await tcp.ConnectAsync(IPAddress.Loopback, port);
        await using var tls = new SslStream(tcp.GetStream());
        try
        {
            await tls.AuthenticateAsClientAsync(new SslClientAuthenticationOptions
            {
                TargetHost = "localhost",
                EnabledSslProtocols = protocols,
                ClientCertificateContext = SslStreamCertificateContext.Create(identity.Certificate, additionalCertificates: null, offline: true),
                RemoteCertificateValidationCallback = (_, c, _, _) => IsSwarmServer(c, trust),
            }).WaitAsync(TestNetwork.Patience);

            // TLS 1.3 reports a refused client certificate only on the first read: ask something and read the answer.
            await tls.WriteAsync("GET /v1/status HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"u8.ToArray());
            var buffer = new byte[64];
            return await tls.ReadAsync(buffer).AsTask().WaitAsync(TestNetwork.Patience) > 0;
        }
        catch (Exception e) when (e is AuthenticationException or IOException or NotSupportedException or System.ComponentModel.Win32Exception)
        {
            return false;
        }
    }
}
