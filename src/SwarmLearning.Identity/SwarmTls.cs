using System.Net.Security;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using Microsoft.AspNetCore.Server.Kestrel.Https;
using Microsoft.Extensions.Logging;

namespace SwarmLearning.Identity;

/// <summary>
/// Mutual TLS as every swarm port speaks it, secure by default: TLS 1.2 or 1.3 only, a client certificate required,
/// both ends checked against the swarm's CAs with <see cref="SwarmTrust.Validate"/> (never "accept any
/// certificate"), and a bounded handshake. Ledger membership is checked above this layer.
/// </summary>
public static class SwarmTls
{
    /// <summary>The protocol versions allowed: TLS 1.2 and 1.3.</summary>
    public const SslProtocols Protocols = SslProtocols.Tls12 | SslProtocols.Tls13;

    /// <summary>How long a TLS handshake (and, for clients, the connection before it) may take: 10 seconds.</summary>
    public static readonly TimeSpan HandshakeTimeout = TimeSpan.FromSeconds(10);

    /// <summary>
    /// Makes a Kestrel HTTPS endpoint present <paramref name="identity"/> and require a client certificate that
    /// <paramref name="trust"/> accepts now (any role; the application checks roles and membership).
    /// </summary>
    /// <param name="options">The endpoint's HTTPS options (<c>ListenOptions.UseHttps(o => …)</c> or <c>ConfigureHttpsDefaults</c>).</param>
    /// <param name="identity">This component's identity.</param>
    /// <param name="trust">The swarm's CAs.</param>
    /// <param name="logger">Where refused client certificates are logged, with the reason.</param>
    public static void ConfigureServer(HttpsConnectionAdapterOptions options, SwarmIdentity identity, SwarmTrust trust, ILogger? logger = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(identity);
        ArgumentNullException.ThrowIfNull(trust);
        options.ServerCertificate = identity.Certificate;
        options.ServerCertificateSelector = null;
        ConfigureClientAuthentication(options, trust, logger);
    }

    /// <summary>
    /// As <see cref="ConfigureServer(HttpsConnectionAdapterOptions, SwarmIdentity, SwarmTrust, ILogger?)"/>, presenting
    /// whatever identity <paramref name="identity"/> holds at each handshake: after a rotation new connections get the
    /// new certificate, with no restart.
    /// </summary>
    public static void ConfigureServer(HttpsConnectionAdapterOptions options, IdentityHolder identity, SwarmTrust trust, ILogger? logger = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(identity);
        ArgumentNullException.ThrowIfNull(trust);
        options.ServerCertificate = null;
        options.ServerCertificateSelector = (_, _) => identity.Current.Certificate;
        ConfigureClientAuthentication(options, trust, logger);
    }

    private static void ConfigureClientAuthentication(HttpsConnectionAdapterOptions options, SwarmTrust trust, ILogger? logger)
    {
        options.ClientCertificateMode = ClientCertificateMode.RequireCertificate;
        options.SslProtocols = Protocols;
        options.HandshakeTimeout = HandshakeTimeout;
        options.CheckCertificateRevocation = false; // swarm certificates name no CRL; revocation lives on the ledger
        options.ClientCertificateValidation = (certificate, _, _) =>
        {
            // Kestrel's own chain (against the system roots) and its errors are ignored: only the swarm's CAs count.
            var check = trust.Validate(certificate, DateTimeOffset.UtcNow);
            if (!check.IsValid && logger is not null)
            {
                IdentityLog.ClientCertificateRefused(logger, check.Reason!);
            }

            return check.IsValid;
        };
    }

    /// <summary>
    /// An HTTP handler that presents <paramref name="identity"/> as client certificate and accepts a server only if
    /// <paramref name="trust"/> accepts its certificate now and the certificate names the host connected to (DNS or
    /// IP SAN), with the given role when <paramref name="expectedServerRole"/> is set. The caller owns the handler.
    /// </summary>
    /// <param name="identity">This component's identity; it must outlive the handler.</param>
    /// <param name="trust">The swarm's CAs.</param>
    /// <param name="expectedServerRole">The role the server must have, if any (an SL node talking to an SN: <see cref="SwarmRole.Sn"/>).</param>
    /// <param name="logger">Where refused server certificates are logged, with the reason.</param>
    public static SocketsHttpHandler CreateClientHandler(SwarmIdentity identity, SwarmTrust trust, SwarmRole? expectedServerRole = null, ILogger? logger = null)
    {
        ArgumentNullException.ThrowIfNull(identity);
        ArgumentNullException.ThrowIfNull(trust);
        return new SocketsHttpHandler
        {
            ConnectTimeout = HandshakeTimeout,
            SslOptions = new SslClientAuthenticationOptions
            {
                EnabledSslProtocols = Protocols,
                // A context rather than a certificate collection: the certificate is always sent, whatever CA names
                // the server lists as acceptable.
                ClientCertificateContext = SslStreamCertificateContext.Create(identity.Certificate, additionalCertificates: null, offline: true),
                CertificateRevocationCheckMode = X509RevocationMode.NoCheck,
                RemoteCertificateValidationCallback = (_, certificate, _, errors) =>
                    AcceptServer(certificate, errors, trust, expectedServerRole, logger),
            },
        };
    }

    private static bool AcceptServer(X509Certificate? certificate, SslPolicyErrors errors, SwarmTrust trust, SwarmRole? expectedRole, ILogger? logger)
    {
        string? reason;
        if (certificate is null || (errors & SslPolicyErrors.RemoteCertificateNotAvailable) != SslPolicyErrors.None)
        {
            reason = "the server presented no certificate";
        }
        else
        {
            // The chain errors SslStream found against the system roots do not matter (the swarm CA is not one of
            // them); the host name check does: the certificate must name the host this client connected to.
            using var owned = certificate is X509Certificate2 ? null : X509CertificateLoader.LoadCertificate(certificate.GetRawCertData());
            var server = owned ?? (X509Certificate2)certificate;
            var check = trust.Validate(server, DateTimeOffset.UtcNow, expectedRole);
            reason = !check.IsValid ? check.Reason
                : (errors & SslPolicyErrors.RemoteCertificateNameMismatch) != SslPolicyErrors.None
                    ? $"{CertificateProfile.Describe(server)} does not name the host connected to (it names {string.Join(", ", CertificateProfile.ReadHosts(server))})"
                    : null;
        }

        if (reason is not null && logger is not null)
        {
            IdentityLog.ServerCertificateRefused(logger, reason);
        }

        return reason is null;
    }
}
