using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace SwarmLearning.Identity;

/// <summary>
/// The CA certificates a swarm trusts (a genesis block may name several) and the one check every peer and every
/// ledger transaction goes through: does this certificate chain to one of them, at a given time, with a swarm role?
/// </summary>
public sealed class SwarmTrust
{
    private readonly X509Certificate2[] _authorities;

    /// <summary>Trusts the given CA certificates (copied, without private keys).</summary>
    /// <exception cref="SwarmException">There are none, or one is not a CA certificate.</exception>
    public SwarmTrust(IEnumerable<X509Certificate2> authorities)
    {
        ArgumentNullException.ThrowIfNull(authorities);
        var copies = new List<X509Certificate2>();
        foreach (var authority in authorities)
        {
            ArgumentNullException.ThrowIfNull(authority, nameof(authorities));
            bool isAuthority;
            try
            {
                // Every extension must decode: the copy kept below is decoded before it is shared.
                CertificateDecoding.DecodeExtensions(authority);
                isAuthority = CertificateProfile.IsAuthority(authority);
            }
            catch (CryptographicException e)
            {
                // An extension that does not decode (a fuzz finding: a damaged CA certificate in a genesis block).
                copies.ForEach(c => c.Dispose());
                throw new SwarmException($"the certificate with fingerprint {Fingerprint.Of(authority).Short} does not decode ({e.Message.TrimEnd('.')}); a swarm can only trust CA certificates", e);
            }

            if (!isAuthority)
            {
                copies.ForEach(c => c.Dispose());
                throw new SwarmException($"{DescribeSafely(authority)} is not a CA certificate; a swarm can only trust CA certificates");
            }

            if (!copies.Any(c => c.RawDataMemory.Span.SequenceEqual(authority.RawDataMemory.Span)))
            {
                // A copy of the public certificate only: the trust does not depend on the caller keeping theirs alive.
                // Its extensions are decoded now, before the handshakes that share it read them (CertificateDecoding).
                var copy = X509CertificateLoader.LoadCertificate(authority.RawDataMemory.Span);
                CertificateDecoding.DecodeExtensions(copy);
                copies.Add(copy);
            }
        }

        if (copies.Count == 0)
        {
            throw new SwarmException("a swarm must trust at least one CA certificate");
        }

        _authorities = [.. copies];
        Authorities = Array.AsReadOnly(_authorities);
    }

    /// <summary>The trusted CA certificates, without duplicates.</summary>
    public IReadOnlyList<X509Certificate2> Authorities { get; }

    /// <summary>Trusts every CA certificate in a PEM file (one certificate or a bundle).</summary>
    /// <exception cref="SwarmException">The file is missing, unreadable, holds no certificate, or one is not a CA.</exception>
    public static SwarmTrust Load(string pemBundlePath)
    {
        var certificates = Pem.ReadCertificates(pemBundlePath);
        try
        {
            if (certificates.Find(c => !CertificateProfile.IsAuthority(c)) is { } leaf)
            {
                throw new SwarmException($"{pemBundlePath}: {CertificateProfile.Describe(leaf)} is not a CA certificate; the trust file holds the swarm's CA certificates (ca.crt)");
            }

            return new SwarmTrust(certificates);
        }
        finally
        {
            certificates.ForEach(c => c.Dispose());
        }
    }

    /// <summary>
    /// Reads a component's certificate file (PEM; the first certificate, as <c>swarm certs issue</c> writes it) and checks
    /// it with <see cref="Validate"/> at <paramref name="at"/>, for enrolling an identity by its certificate file.
    /// </summary>
    /// <exception cref="SwarmException">The file is missing, unreadable or holds no certificate.</exception>
    public (CertificateCheck Check, Fingerprint Fingerprint) ValidateFile(string pemPath, DateTimeOffset at)
    {
        var certificates = Pem.ReadCertificates(pemPath);
        try
        {
            return (Validate(certificates[0], at), Fingerprint.Of(certificates[0]));
        }
        finally
        {
            certificates.ForEach(c => c.Dispose());
        }
    }

    /// <summary>
    /// Checks a component certificate at time <paramref name="at"/>: it chains to one of the trusted CAs (custom root
    /// trust only, no revocation check, no downloads), is within its validity and the CA's, is no CA itself, may
    /// authenticate TLS servers and clients, signs with ECDSA P-256 and carries a swarm role (the expected one, when
    /// given). The same certificate and time always give the same answer, so SNs replaying a ledger agree.
    /// </summary>
    /// <returns>Valid with the role and name, or invalid with a one-line reason that names the certificate.</returns>
    public CertificateCheck Validate(X509Certificate2 certificate, DateTimeOffset at, SwarmRole? expectedRole = null)
    {
        ArgumentNullException.ThrowIfNull(certificate);
        try
        {
            return ValidateDecoded(certificate, at, expectedRole);
        }
        catch (CryptographicException e)
        {
            // A field that does not decode (found by fuzzing: validity dates, names, extensions) is a verdict, not an
            // exception: every caller already acts on an invalid check.
            return CertificateCheck.Fail($"the certificate with fingerprint {Fingerprint.Of(certificate).Short} does not decode ({e.Message.TrimEnd('.')})");
        }
    }

    private static string DescribeSafely(X509Certificate2 certificate)
    {
        try
        {
            return CertificateProfile.Describe(certificate);
        }
        catch (CryptographicException)
        {
            return $"the certificate with fingerprint {Fingerprint.Of(certificate).Short}";
        }
    }

    private CertificateCheck ValidateDecoded(X509Certificate2 certificate, DateTimeOffset at, SwarmRole? expectedRole)
    {
        var label = CertificateProfile.Describe(certificate);
        if (CertificateProfile.IsAuthority(certificate))
        {
            return CertificateCheck.Fail($"{label} is a CA certificate, not a component identity");
        }

        if (CheckChain(certificate, at, label) is { } chainProblem)
        {
            return CertificateCheck.Fail(chainProblem);
        }

        if (!SwarmIdentity.TryReadRole(certificate, out var role, out var name))
        {
            return CertificateCheck.Fail($"{label} carries no swarm role (no '{CertificateProfile.RoleUriPrefix}…' URI, or no valid name); issue it with 'swarm certs issue'");
        }

        if (expectedRole is { } expected && role != expected)
        {
            return CertificateCheck.Fail($"{label} has role {SwarmRoles.ToName(role)}, but {SwarmRoles.ToName(expected)} is required here", role, name);
        }

        if (!CertificateProfile.HasServerAndClientAuth(certificate))
        {
            return CertificateCheck.Fail($"{label} is not valid for TLS server and client authentication (extended key usage); issue it with 'swarm certs issue'", role, name);
        }

        if (!CertificateProfile.AllowsDigitalSignature(certificate))
        {
            return CertificateCheck.Fail($"{label} may not make signatures (key usage lacks digital signature)", role, name);
        }

        if (!CertificateProfile.HasP256Key(certificate))
        {
            return CertificateCheck.Fail($"{label} has no ECDSA P-256 key; swarm identities sign with ECDSA P-256", role, name);
        }

        return new CertificateCheck(true, null, role, name);
    }

    /// <summary>The chain problem as a sentence, or null when the certificate chains to a trusted CA at <paramref name="at"/>.</summary>
    private string? CheckChain(X509Certificate2 certificate, DateTimeOffset at, string label)
    {
        using var chain = new X509Chain();
        var policy = chain.ChainPolicy;
        policy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        policy.CustomTrustStore.AddRange(_authorities);
        policy.RevocationMode = X509RevocationMode.NoCheck;
        policy.DisableCertificateDownloads = true;
        policy.VerificationTime = at.UtcDateTime;
        policy.VerificationTimeIgnored = false;
        try
        {
            bool built;
            try
            {
                built = chain.Build(certificate);
            }
            catch (CryptographicException e)
            {
                return $"{label} could not be checked ({e.Message.TrimEnd('.')})";
            }

            var status = chain.ChainStatus.Aggregate(X509ChainStatusFlags.NoError, (all, s) => all | s.Status);
            const X509ChainStatusFlags notOurs = X509ChainStatusFlags.UntrustedRoot | X509ChainStatusFlags.PartialChain | X509ChainStatusFlags.NotSignatureValid;
            if ((status & notOurs) != X509ChainStatusFlags.NoError || (built && !IsTrusted(chain.ChainElements[^1].Certificate)))
            {
                return $"{label} is not issued by this swarm's CA (its issuer is '{certificate.Issuer}')";
            }

            if ((status & X509ChainStatusFlags.NotTimeValid) != X509ChainStatusFlags.NoError)
            {
                return TimeProblem(chain, certificate, at, label);
            }

            if (!built || status != X509ChainStatusFlags.NoError)
            {
                var details = string.Join("; ", chain.ChainStatus.Select(s => s.StatusInformation.Trim().TrimEnd('.')).Where(s => s.Length > 0).Distinct(StringComparer.Ordinal));
                return $"{label} is refused: {(details.Length > 0 ? details : status.ToString())}";
            }

            return null;
        }
        finally
        {
            foreach (var element in chain.ChainElements)
            {
                if (!ReferenceEquals(element.Certificate, certificate))
                {
                    element.Certificate.Dispose();
                }
            }
        }
    }

    private bool IsTrusted(X509Certificate2 root) =>
        _authorities.Any(a => a.RawDataMemory.Span.SequenceEqual(root.RawDataMemory.Span));

    private static string TimeProblem(X509Chain chain, X509Certificate2 certificate, DateTimeOffset at, string label)
    {
        var when = CertificateProfile.FormatTime(at);
        var notBefore = CertificateProfile.Utc(certificate.NotBefore);
        var notAfter = CertificateProfile.Utc(certificate.NotAfter);
        if (at < notBefore)
        {
            return $"{label} is not valid before {CertificateProfile.FormatTime(notBefore)} (checked at {when})";
        }

        if (at > notAfter)
        {
            return $"{label} expired on {CertificateProfile.FormatTime(notAfter)} (checked at {when})";
        }

        // The leaf is fine, so an issuer is out of its validity.
        foreach (var element in chain.ChainElements.Skip(1))
        {
            var ca = element.Certificate;
            var caNotAfter = CertificateProfile.Utc(ca.NotAfter);
            if (at > caNotAfter)
            {
                return $"{label} was issued by the CA '{ca.Subject}', which expired on {CertificateProfile.FormatTime(caNotAfter)} (checked at {when})";
            }

            var caNotBefore = CertificateProfile.Utc(ca.NotBefore);
            if (at < caNotBefore)
            {
                return $"{label} was issued by the CA '{ca.Subject}', which is not valid before {CertificateProfile.FormatTime(caNotBefore)} (checked at {when})";
            }
        }

        return $"{label} is outside its validity at {when}";
    }
}

/// <summary>The outcome of <see cref="SwarmTrust.Validate"/>.</summary>
/// <param name="IsValid">True when the certificate is a valid swarm identity at the time checked.</param>
/// <param name="Reason">Why it is not, in one line naming the certificate; null when valid.</param>
/// <param name="Role">The certificate's role (meaningful when valid).</param>
/// <param name="Name">The certificate's name (meaningful when valid; empty when unknown).</param>
public readonly record struct CertificateCheck(bool IsValid, string? Reason, SwarmRole Role, string Name)
{
    internal static CertificateCheck Fail(string reason, SwarmRole role = default, string name = "") => new(false, reason, role, name);
}
