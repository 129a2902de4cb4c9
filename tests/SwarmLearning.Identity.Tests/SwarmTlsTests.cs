using System.Collections.Concurrent;
using System.Net;
using System.Net.Security;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Https;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace SwarmLearning.Identity.Tests;

/// <summary>Real mutual TLS: a Kestrel server on loopback and HttpClient, with certificates made here.</summary>
public sealed class SwarmTlsTests : IDisposable
{
    private readonly CertificateAuthority _ca = CertificateAuthority.Create("tls", TimeSpan.FromDays(30));
    private readonly CertificateAuthority _otherCa = CertificateAuthority.Create("tls", TimeSpan.FromDays(30));
    private readonly SwarmIdentity _server;
    private readonly SwarmIdentity _client;
    private readonly SwarmTrust _trust;

    public SwarmTlsTests()
    {
        _server = _ca.Issue(SwarmRole.Sn, "sn1", [], TimeSpan.FromDays(1));
        _client = _ca.Issue(SwarmRole.Sl, "sl1", [], TimeSpan.FromDays(1));
        _trust = new SwarmTrust([_ca.Certificate]);
    }

    public void Dispose()
    {
        _server.Dispose();
        _client.Dispose();
        _ca.Dispose();
        _otherCa.Dispose();
    }

    [Fact]
    public async Task A_client_of_the_swarm_reaches_a_server_of_the_swarm_and_is_known_by_its_certificate()
    {
        await using var server = await TlsServer.StartAsync(_server, _trust);
        using var http = new HttpClient(SwarmTls.CreateClientHandler(_client, _trust, SwarmRole.Sn));

        var reply = await http.GetStringAsync(server.Url("/whoami"));

        Assert.Equal($"sl sl1 {_client.Fingerprint}", reply);
        Assert.Empty(server.Log);
    }

    [Fact]
    public void A_new_identity_shows_both_usages_to_handshakes_that_read_its_certificate_at_once()
    {
        // Kestrel checks its certificate's extended key usage at every handshake, reading the certificate's own
        // (shared) extension views, and a node's first handshakes come together. .NET decodes that list lazily and not
        // safely across threads: two first reads at once found it short, or threw, in up to 1 pair of 40 on a 2-core
        // machine, and Kestrel refused the node's own certificate. An identity decodes its extensions before anyone
        // shares it.
        var refused = ReadTogether(
            2000,
            () => _ca.Issue(SwarmRole.Sl, "sl1", [], TimeSpan.FromDays(1)),
            identity => identity.Certificate,
            certificate => certificate.Extensions.OfType<X509EnhancedKeyUsageExtension>().Single().EnhancedKeyUsages.Cast<System.Security.Cryptography.Oid>().Any(o => o.Value == "1.3.6.1.5.5.7.3.1"));

        Assert.Equal(0, refused);
    }

    [Fact]
    public void The_trust_check_finds_both_usages_of_a_certificate_that_threads_read_at_once()
    {
        // A certificate the trust checks did not make (a peer's, a member's on the ledger) may be shared too: the
        // check reads each usage list from a copy of its own.
        using var issued = _ca.Issue(SwarmRole.Sl, "sl1", [], TimeSpan.FromDays(1));
        var refused = ReadTogether(
            500,
            () => X509CertificateLoader.LoadCertificate(issued.Certificate.RawData),
            certificate => certificate,
            CertificateProfile.HasServerAndClientAuth);

        Assert.Equal(0, refused);
    }

    /// <summary>
    /// Makes <paramref name="count"/> fresh <typeparamref name="T"/>s; for each, reads its certificate's extension
    /// collection once (as a role check does, so that the threads share its views), then runs
    /// <paramref name="allowed"/> on two threads released together. Returns how many of those reads said no or threw.
    /// </summary>
    private static int ReadTogether<T>(int count, Func<T> make, Func<T, X509Certificate2> certificateOf, Func<X509Certificate2, bool> allowed)
        where T : IDisposable
    {
        var refused = 0;
        for (var i = 0; i < count; i++)
        {
            using var owner = make();
            var certificate = certificateOf(owner);
            _ = certificate.Extensions;
            var arrived = 0;
            var reads = new bool[2];
            var threads = Enumerable.Range(0, 2).Select(k => new Thread(() =>
            {
                // Both spin until both are here, so that their first reads start within nanoseconds of each other.
                // Threads of their own: two pool work items could wait on one busy pool thread.
                Interlocked.Increment(ref arrived);
                while (Volatile.Read(ref arrived) < 2)
                {
                    Thread.SpinWait(1);
                }

                try
                {
                    reads[k] = allowed(certificate);
                }
                catch (Exception)
                {
                    reads[k] = false; // a list changing under its reader (a handshake fails the same way)
                }
            })).ToList();
            threads.ForEach(t => t.Start());
            threads.ForEach(t => t.Join());
            refused += reads.Count(ok => !ok);
        }

        return refused;
    }

    [Fact]
    public async Task A_client_without_a_certificate_is_refused()
    {
        await using var server = await TlsServer.StartAsync(_server, _trust);
        // Checks the server against the swarm CA like a swarm client, but presents no certificate.
        using var handler = new SocketsHttpHandler
        {
            SslOptions = new SslClientAuthenticationOptions
            {
                RemoteCertificateValidationCallback = (_, certificate, _, _) => _trust.Validate((X509Certificate2)certificate!, DateTimeOffset.UtcNow).IsValid,
            },
        };
        using var http = new HttpClient(handler);

        await RefusedAsync(http, server);
    }

    [Fact]
    public async Task A_client_with_a_certificate_from_another_CA_is_refused_and_the_server_logs_why()
    {
        await using var server = await TlsServer.StartAsync(_server, _trust);
        using var stranger = _otherCa.Issue(SwarmRole.Sl, "intruder", [], TimeSpan.FromDays(1));
        // The stranger trusts our CA, so the server passes its checks; only the server's check can fail.
        using var http = new HttpClient(SwarmTls.CreateClientHandler(stranger, _trust));

        await RefusedAsync(http, server);

        // HttpClient may retry the refused connection, so there can be more than one refusal; each says why.
        Assert.NotEmpty(server.Log);
        Assert.All(server.Log, logged =>
        {
            Assert.Contains("certificate 'intruder'", logged, StringComparison.Ordinal);
            Assert.Contains("is not issued by this swarm's CA", logged, StringComparison.Ordinal);
        });
    }

    [Fact]
    public async Task A_server_with_a_certificate_from_another_CA_is_refused_by_the_client()
    {
        using var impostor = _otherCa.Issue(SwarmRole.Sn, "sn1", [], TimeSpan.FromDays(1));
        // The impostor server would accept our client; the client must refuse the impostor.
        await using var server = await TlsServer.StartAsync(impostor, new SwarmTrust([_ca.Certificate, _otherCa.Certificate]));
        var clientLog = new ListLogger();
        using var http = new HttpClient(SwarmTls.CreateClientHandler(_client, _trust, logger: clientLog));

        var e = await Assert.ThrowsAsync<HttpRequestException>(() => http.GetStringAsync(server.Url("/whoami")));

        Assert.IsType<AuthenticationException>(e.InnerException);
        Assert.Null(e.StatusCode);
        Assert.NotEmpty(clientLog.Messages);
        Assert.All(clientLog.Messages, m => Assert.Contains("is not issued by this swarm's CA", m, StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_server_whose_certificate_does_not_name_the_host_is_refused()
    {
        using var elsewhere = _ca.Issue(SwarmRole.Sn, "sn2", ["sn2.example.org"], TimeSpan.FromDays(1));
        await using var server = await TlsServer.StartAsync(elsewhere, _trust);
        var clientLog = new ListLogger();
        using var http = new HttpClient(SwarmTls.CreateClientHandler(_client, _trust, logger: clientLog));

        await RefusedAsync(http, server);

        Assert.NotEmpty(clientLog.Messages);
        Assert.All(clientLog.Messages, m => Assert.Contains("does not name the host connected to (it names sn2.example.org)", m, StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_server_with_the_wrong_role_is_refused_when_a_role_is_expected()
    {
        using var notAnSn = _ca.Issue(SwarmRole.Swop, "op1", [], TimeSpan.FromDays(1));
        await using var server = await TlsServer.StartAsync(notAnSn, _trust);
        using var strict = new HttpClient(SwarmTls.CreateClientHandler(_client, _trust, SwarmRole.Sn));
        using var lenient = new HttpClient(SwarmTls.CreateClientHandler(_client, _trust));

        await RefusedAsync(strict, server);
        Assert.Equal($"sl sl1 {_client.Fingerprint}", await lenient.GetStringAsync(server.Url("/whoami")));
    }

    [Fact]
    public void Server_options_are_secure_by_default()
    {
        var options = new HttpsConnectionAdapterOptions
        {
            ClientCertificateMode = ClientCertificateMode.AllowCertificate,
            SslProtocols = SslProtocols.None,
            CheckCertificateRevocation = true,
        };

        SwarmTls.ConfigureServer(options, _server, _trust);

        Assert.Same(_server.Certificate, options.ServerCertificate);
        Assert.Equal(ClientCertificateMode.RequireCertificate, options.ClientCertificateMode);
        Assert.Equal(SslProtocols.Tls12 | SslProtocols.Tls13, options.SslProtocols);
        Assert.Equal(TimeSpan.FromSeconds(10), options.HandshakeTimeout);
        Assert.False(options.CheckCertificateRevocation);
        using var stranger = _otherCa.Issue(SwarmRole.Sl, "x", [], TimeSpan.FromDays(1));
        Assert.False(options.ClientCertificateValidation!(stranger.Certificate, null, SslPolicyErrors.None));
        Assert.True(options.ClientCertificateValidation!(_client.Certificate, null, SslPolicyErrors.RemoteCertificateChainErrors));
    }

    [Fact]
    public void Client_handlers_are_secure_by_default()
    {
        using var handler = SwarmTls.CreateClientHandler(_client, _trust);

        Assert.Equal(SslProtocols.Tls12 | SslProtocols.Tls13, handler.SslOptions.EnabledSslProtocols);
        Assert.Equal(X509RevocationMode.NoCheck, handler.SslOptions.CertificateRevocationCheckMode);
        Assert.NotNull(handler.SslOptions.ClientCertificateContext);
        Assert.Equal(TimeSpan.FromSeconds(10), handler.ConnectTimeout);
        var validate = handler.SslOptions.RemoteCertificateValidationCallback!;
        Assert.True(validate(this, _server.Certificate, null, SslPolicyErrors.RemoteCertificateChainErrors));
        Assert.False(validate(this, _server.Certificate, null, SslPolicyErrors.RemoteCertificateNameMismatch));
        Assert.False(validate(this, null, null, SslPolicyErrors.RemoteCertificateNotAvailable));
    }

    /// <summary>The request fails at the connection: no HTTP status ever comes back.</summary>
    private static async Task RefusedAsync(HttpClient http, TlsServer server)
    {
        var e = await Assert.ThrowsAsync<HttpRequestException>(() => http.GetStringAsync(server.Url("/whoami")));
        Assert.Null(e.StatusCode);
    }

    /// <summary>A Kestrel server on 127.0.0.1 (a free port) configured with <see cref="SwarmTls.ConfigureServer(Microsoft.AspNetCore.Server.Kestrel.Https.HttpsConnectionAdapterOptions, SwarmIdentity, SwarmTrust, Microsoft.Extensions.Logging.ILogger?)"/>.</summary>
    private sealed class TlsServer : IAsyncDisposable
    {
        private readonly WebApplication _app;
        private readonly ListLogger _log;

        private TlsServer(WebApplication app, ListLogger log, Uri address)
        {
            _app = app;
            _log = log;
            Address = address;
        }

        public Uri Address { get; }

        public IReadOnlyList<string> Log => _log.Messages;

        public static async Task<TlsServer> StartAsync(SwarmIdentity identity, SwarmTrust trust)
        {
            var log = new ListLogger();
            var builder = WebApplication.CreateSlimBuilder();
            builder.Logging.ClearProviders();
            builder.WebHost.ConfigureKestrel(kestrel =>
                kestrel.Listen(IPAddress.Loopback, 0, listen => listen.UseHttps(https => SwarmTls.ConfigureServer(https, identity, trust, log))));
            var app = builder.Build();
            app.MapGet("/whoami", (HttpContext context) =>
            {
                var certificate = context.Connection.ClientCertificate;
                return certificate is null ? "anonymous"
                    : SwarmIdentity.TryReadRole(certificate, out var role, out var name) ? $"{SwarmRoles.ToName(role)} {name} {Fingerprint.Of(certificate)}"
                    : "no role";
            });
            await app.StartAsync(); // returns once Kestrel listens
            var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single();
            return new TlsServer(app, log, new Uri(address));
        }

        public Uri Url(string path) => new(Address, path);

        public async ValueTask DisposeAsync()
        {
            await _app.StopAsync();
            await _app.DisposeAsync();
        }
    }

    /// <summary>Keeps every message logged to it.</summary>
    private sealed class ListLogger : ILogger
    {
        private readonly ConcurrentQueue<string> _messages = new();

        public IReadOnlyList<string> Messages => [.. _messages];

        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            _messages.Enqueue(formatter(state, exception));
    }
}
