using System.Buffers;
using System.Formats.Asn1;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace SwarmLearning.Identity;

/// <summary>
/// What a swarm certificate looks like (docs/identity.md): the extensions the CA writes and the rules used to read
/// them back. Writing and reading live together so the two cannot drift apart.
/// </summary>
internal static class CertificateProfile
{
    /// <summary>The organization every swarm certificate names.</summary>
    public const string Organization = "SwarmLearning";

    /// <summary>The SAN URI prefix that carries a component's role: <c>urn:swarmlearning:role:sl</c>.</summary>
    public const string RoleUriPrefix = "urn:swarmlearning:role:";

    /// <summary>Certificates start this long before "now", so a peer whose clock is a little behind accepts them.</summary>
    public static readonly TimeSpan ClockSkew = TimeSpan.FromMinutes(5);

    public static readonly Oid ServerAuth = new("1.3.6.1.5.5.7.3.1", "Server Authentication");
    public static readonly Oid ClientAuth = new("1.3.6.1.5.5.7.3.2", "Client Authentication");

    /// <summary>The hosts a component certificate names when none are given: this machine, by name and loopback address.</summary>
    public static readonly IReadOnlyList<string> DefaultHosts = ["localhost", "127.0.0.1", "::1"];

    private const string SubjectAltNameOid = "2.5.29.17";
    private const string CommonNameOid = "2.5.4.3";
    private static readonly Asn1Tag UriTag = new(TagClass.ContextSpecific, 6);
    private static readonly SearchValues<char> DigitsAndDots = SearchValues.Create("0123456789.");
    private static readonly SearchValues<char> LabelCharacters = SearchValues.Create("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-");

    /// <summary>The subject of a component certificate: CN=name, OU=role, O=SwarmLearning.</summary>
    public static X500DistinguishedName ComponentSubject(SwarmRole role, string name)
    {
        // The builder encodes the last name added first; this order gives the usual O, OU, CN encoding, which
        // .NET and openssl -nameopt RFC2253 print as "CN=sl1, OU=sl, O=SwarmLearning".
        var builder = new X500DistinguishedNameBuilder();
        builder.AddCommonName(name);
        builder.AddOrganizationalUnitName(SwarmRoles.ToName(role));
        builder.AddOrganizationName(Organization);
        return builder.Build();
    }

    /// <summary>The subject of a swarm CA: CN="NAME Swarm CA", O=SwarmLearning.</summary>
    public static X500DistinguishedName AuthoritySubject(string swarmName)
    {
        var builder = new X500DistinguishedNameBuilder();
        builder.AddCommonName($"{swarmName} Swarm CA");
        builder.AddOrganizationName(Organization);
        return builder.Build();
    }

    /// <summary>A random positive 16-byte serial number whose first byte is never zero (so its DER form is 16 bytes).</summary>
    public static byte[] NewSerialNumber()
    {
        var serial = RandomNumberGenerator.GetBytes(16);
        serial[0] = (byte)((serial[0] & 0x7F) | 0x40);
        return serial;
    }

    /// <summary>X.509 times have whole seconds; dropping the fraction up front keeps "now + validity" equal to NotAfter.</summary>
    public static DateTimeOffset WholeSeconds(DateTimeOffset t) =>
        new(t.UtcTicks - (t.UtcTicks % TimeSpan.TicksPerSecond), TimeSpan.Zero);

    /// <summary>
    /// Checks and normalises the hosts a certificate should be valid for: IP literals become IP SANs, everything else
    /// must be a DNS name (lowercased). Duplicates are dropped; none at all means <see cref="DefaultHosts"/>.
    /// </summary>
    public static IReadOnlyList<Host> ParseHosts(IReadOnlyList<string>? hosts)
    {
        var source = hosts is null || hosts.Count == 0 ? DefaultHosts : hosts;
        var result = new List<Host>(source.Count);
        foreach (var text in source)
        {
            var host = ParseHost(text);
            if (!result.Contains(host))
            {
                result.Add(host);
            }
        }

        return result;
    }

    private static Host ParseHost(string? text)
    {
        var trimmed = text?.Trim() ?? string.Empty;
        if (trimmed.Length == 0)
        {
            throw new SwarmException("a host is empty: give a DNS name (sn1.example.org) or an IP address (10.0.0.5)");
        }

        if (trimmed.StartsWith('[') && trimmed.EndsWith(']'))
        {
            throw new SwarmException($"host '{SwarmNames.Truncate(trimmed)}': give the IPv6 address without brackets ({trimmed[1..^1]})");
        }

        // IPAddress.TryParse also accepts shorthands like "10.1" and "1"; only the four-part form counts as IPv4 here.
        if (IPAddress.TryParse(trimmed, out var address)
            && ((address.AddressFamily == AddressFamily.InterNetworkV6 && trimmed.Contains(':', StringComparison.Ordinal))
                || (address.AddressFamily == AddressFamily.InterNetwork && trimmed.Split('.').Length == 4)))
        {
            if (address.AddressFamily == AddressFamily.InterNetworkV6 && address.ScopeId != 0)
            {
                throw new SwarmException($"host '{SwarmNames.Truncate(trimmed)}': a certificate cannot name an IPv6 zone; give the address without '%…'");
            }

            return new Host(address.ToString(), address);
        }

        if (!IsDnsName(trimmed))
        {
            throw new SwarmException($"host '{SwarmNames.Truncate(trimmed)}' is neither an IP address nor a DNS name (labels of letters, digits and '-', separated by '.')");
        }

        return new Host(trimmed.ToLowerInvariant(), null);
    }

    private static bool IsDnsName(string name)
    {
        if (name.Length > 253 || name.AsSpan().IndexOfAnyExcept(DigitsAndDots) < 0)
        {
            return false; // too long, or all digits and dots: a mistyped IP address rather than a name
        }

        foreach (var label in name.Split('.'))
        {
            if (label.Length is 0 or > 63 || label[0] == '-' || label[^1] == '-'
                || label.AsSpan().ContainsAnyExcept(LabelCharacters))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>The subject alternative names of a component: its role URI and its hosts.</summary>
    public static X509Extension SubjectAlternativeNames(SwarmRole role, IReadOnlyList<Host> hosts)
    {
        var san = new SubjectAlternativeNameBuilder();
        san.AddUri(new Uri(RoleUriPrefix + SwarmRoles.ToName(role)));
        foreach (var host in hosts)
        {
            if (host.Address is { } address)
            {
                san.AddIpAddress(address);
            }
            else
            {
                san.AddDnsName(host.Name);
            }
        }

        return san.Build(critical: false);
    }

    /// <summary>The role in the certificate's SAN URIs: exactly one <c>urn:swarmlearning:role:…</c> naming a known role.</summary>
    public static bool TryReadRole(X509Certificate2 certificate, out SwarmRole role) =>
        TryReadRole(certificate.Extensions[SubjectAltNameOid], out role);

    /// <summary>The role in a SAN extension (a certificate's, or one a signing request asks for); false when there is none.</summary>
    public static bool TryReadRole(X509Extension? subjectAlternativeNames, out SwarmRole role)
    {
        role = default;
        string? found = null;
        foreach (var uri in SanUris(subjectAlternativeNames))
        {
            if (!uri.StartsWith(RoleUriPrefix, StringComparison.OrdinalIgnoreCase))
            {
                continue;
            }

            if (found is not null)
            {
                return false; // two role URIs: ambiguous, so none
            }

            found = uri[RoleUriPrefix.Length..];
        }

        return SwarmRoles.TryParse(found, out role);
    }

    /// <summary>The single common name of a distinguished name, or null when there is none or more than one.</summary>
    public static string? CommonName(X500DistinguishedName name)
    {
        string? found = null;
        foreach (var rdn in name.EnumerateRelativeDistinguishedNames())
        {
            if (!rdn.HasMultipleElements && rdn.GetSingleElementType().Value == CommonNameOid)
            {
                if (found is not null)
                {
                    return null;
                }

                found = rdn.GetSingleElementValue();
            }
        }

        return found;
    }

    /// <summary>The DNS names and IP addresses the certificate is valid for, as text.</summary>
    public static IReadOnlyList<string> ReadHosts(X509Certificate2 certificate) => ReadHosts(certificate.Extensions[SubjectAltNameOid]);

    /// <summary>The DNS names and IP addresses in a SAN extension, as text.</summary>
    public static IReadOnlyList<string> ReadHosts(X509Extension? extension)
    {
        if (extension is null)
        {
            return [];
        }

        var san = extension as X509SubjectAlternativeNameExtension ?? new X509SubjectAlternativeNameExtension(extension.RawData, extension.Critical);
        return [.. san.EnumerateDnsNames(), .. san.EnumerateIPAddresses().Select(a => a.ToString())];
    }

    /// <summary>True when the certificate says it is a certificate authority.</summary>
    public static bool IsAuthority(X509Certificate2 certificate) =>
        certificate.Extensions.OfType<X509BasicConstraintsExtension>().Any(b => b.CertificateAuthority);

    /// <summary>True when the certificate's key usage allows signing certificates (or it states no key usage at all).</summary>
    public static bool AllowsCertificateSigning(X509Certificate2 certificate) =>
        certificate.Extensions.OfType<X509KeyUsageExtension>().All(k => k.KeyUsages.HasFlag(X509KeyUsageFlags.KeyCertSign));

    /// <summary>True when the certificate may authenticate both ends of a TLS connection.</summary>
    public static bool HasServerAndClientAuth(X509Certificate2 certificate)
    {
        // Each list is read from a copy of its own: the certificate's view decodes on first read, and not safely when
        // another thread reads it first at the same time (see CertificateDecoding.DecodeExtensions).
        var usages = certificate.Extensions.OfType<X509EnhancedKeyUsageExtension>()
            .SelectMany(e => new X509EnhancedKeyUsageExtension(e, e.Critical).EnhancedKeyUsages.Cast<Oid>())
            .Select(o => o.Value)
            .ToList();
        return usages.Contains(ServerAuth.Value) && usages.Contains(ClientAuth.Value);
    }

    /// <summary>True when the certificate's key usage allows signatures (or it states no key usage at all).</summary>
    public static bool AllowsDigitalSignature(X509Certificate2 certificate) =>
        certificate.Extensions.OfType<X509KeyUsageExtension>().All(k => k.KeyUsages.HasFlag(X509KeyUsageFlags.DigitalSignature));

    /// <summary>True when the certificate's key is ECDSA on P-256, the only key swarm signatures use.</summary>
    public static bool HasP256Key(X509Certificate2 certificate)
    {
        using var key = certificate.GetECDsaPublicKey();
        return key is { KeySize: 256 };
    }

    /// <summary>"certificate 'sl1' (fingerprint ab12cd34ef56)": how messages name a certificate.</summary>
    public static string Describe(X509Certificate2 certificate)
    {
        var name = CommonName(certificate.SubjectName) ?? certificate.Subject;
        return $"certificate '{SwarmNames.Truncate(name)}' (fingerprint {Fingerprint.Of(certificate).Short})";
    }

    /// <summary>A time as messages and the CLI print it: <c>2027-11-21 19:46:05 UTC</c>.</summary>
    public static string FormatTime(DateTimeOffset t) => t.UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss 'UTC'", CultureInfo.InvariantCulture);

    /// <summary>A certificate validity bound (which X509Certificate2 gives in local time) as a UTC offset.</summary>
    public static DateTimeOffset Utc(DateTime certificateTime) => new(certificateTime.ToUniversalTime(), TimeSpan.Zero);

    /// <summary>The subject-alternative-name extension among <paramref name="extensions"/>, or null.</summary>
    public static X509Extension? FindSubjectAlternativeNames(IEnumerable<X509Extension> extensions) =>
        extensions.FirstOrDefault(e => e.Oid?.Value == SubjectAltNameOid);

    private static List<string> SanUris(X509Extension? extension)
    {
        var uris = new List<string>();
        if (extension is null)
        {
            return uris;
        }

        try
        {
            // GeneralNames ::= SEQUENCE OF GeneralName; a URI is [6] IMPLICIT IA5String (RFC 5280 §4.2.1.6).
            var reader = new AsnReader(extension.RawData, AsnEncodingRules.DER);
            var names = reader.ReadSequence();
            reader.ThrowIfNotEmpty();
            while (names.HasData)
            {
                var tag = names.PeekTag();
                if (tag.HasSameClassAndValue(UriTag))
                {
                    uris.Add(names.ReadCharacterString(UniversalTagNumber.IA5String, UriTag));
                }
                else
                {
                    names.ReadEncodedValue();
                }
            }
        }
        catch (AsnContentException)
        {
            uris.Clear(); // a malformed SAN carries no role
        }

        return uris;
    }

    /// <summary>A host a certificate is valid for: a DNS name, or an IP address (with its text form as the name).</summary>
    internal readonly record struct Host(string Name, IPAddress? Address);
}
