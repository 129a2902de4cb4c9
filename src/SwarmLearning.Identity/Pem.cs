using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;

namespace SwarmLearning.Identity;

/// <summary>
/// Certificate and key files: PEM in, PEM out. Reading names the file in every error; writing never replaces a file
/// unless asked, goes through a temporary name so no half-written file is ever seen, and creates key files readable
/// by their owner only.
/// </summary>
internal static class Pem
{
    public const string CertificateLabel = "CERTIFICATE";
    public const string PrivateKeyLabel = "PRIVATE KEY";
    private const string EcPrivateKeyLabel = "EC PRIVATE KEY";
    private const string EncryptedPrivateKeyLabel = "ENCRYPTED PRIVATE KEY";

    // Certificates and keys are a few kilobytes; a bigger file is the wrong file, and is not read whole into memory.
    private const long MaxFileBytes = 1 << 20;

    /// <summary>Owner read and write: the mode of every private key file.</summary>
    public const UnixFileMode KeyFileMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;

    /// <summary>Every certificate in a PEM file, in order; at least one.</summary>
    public static List<X509Certificate2> ReadCertificates(string path)
    {
        var text = ReadText(path, "certificate");
        var certificates = new List<X509Certificate2>();
        var labels = new List<string>();
        try
        {
            foreach (var (label, der) in Sections(text))
            {
                labels.Add(label);
                if (label == CertificateLabel)
                {
                    certificates.Add(LoadCertificate(path, der, certificates.Count));
                }
            }
        }
        catch
        {
            certificates.ForEach(c => c.Dispose());
            throw;
        }

        if (certificates.Count == 0)
        {
            throw new SwarmException(labels.Any(l => l.EndsWith(PrivateKeyLabel, StringComparison.Ordinal))
                ? $"{path} holds a private key, not a certificate; pass the certificate (.crt) file"
                : $"{path} contains no PEM certificate (a '-----BEGIN {CertificateLabel}-----' block)");
        }

        return certificates;
    }

    /// <summary>The first certificate in a PEM file (a file may carry its issuer's after it).</summary>
    public static X509Certificate2 ReadCertificate(string path)
    {
        var all = ReadCertificates(path);
        foreach (var extra in all.Skip(1))
        {
            extra.Dispose();
        }

        return all[0];
    }

    /// <summary>An unencrypted EC private key (PKCS#8 "PRIVATE KEY" or SEC 1 "EC PRIVATE KEY").</summary>
    public static ECDsa ReadPrivateKey(string path)
    {
        var text = ReadText(path, "private key");
        var labels = new List<string>();
        foreach (var (label, der) in Sections(text))
        {
            labels.Add(label);
            if (label is not (PrivateKeyLabel or EcPrivateKeyLabel))
            {
                CryptographicOperations.ZeroMemory(der);
                continue;
            }

            var key = ECDsa.Create();
            try
            {
                if (label == PrivateKeyLabel)
                {
                    key.ImportPkcs8PrivateKey(der, out _);
                }
                else
                {
                    key.ImportECPrivateKey(der, out _);
                }

                return key;
            }
            catch (CryptographicException e)
            {
                key.Dispose();
                throw new SwarmException($"{path}: not an ECDSA private key; swarm identities use ECDSA P-256 ({e.Message.TrimEnd('.')})", e);
            }
            finally
            {
                CryptographicOperations.ZeroMemory(der);
            }
        }

        throw new SwarmException(
            labels.Contains(EncryptedPrivateKeyLabel) ? $"{path}: the private key is encrypted; SwarmLearning reads unencrypted keys protected by file permissions (decrypt it with 'openssl pkey -in {path} -out NEW.key' and chmod 600 NEW.key)"
            : labels.Contains("RSA PRIVATE KEY") ? $"{path}: an RSA private key; swarm identities use ECDSA P-256"
            : labels.Contains(CertificateLabel) ? $"{path} holds a certificate, not a private key; pass the key (.key) file"
            : $"{path} contains no PEM private key (a '-----BEGIN {PrivateKeyLabel}-----' block)");
    }

    /// <summary>Checks that <paramref name="key"/> is the private half of <paramref name="certificate"/>'s public key.</summary>
    public static void CheckKeyMatches(X509Certificate2 certificate, string certificatePath, ECDsa key, string keyPath)
    {
        using var publicKey = certificate.GetECDsaPublicKey()
            ?? throw new SwarmException($"{certificatePath}: the certificate's key is {certificate.PublicKey.Oid.FriendlyName ?? certificate.PublicKey.Oid.Value}, not ECDSA; swarm identities use ECDSA P-256");
        if (!publicKey.ExportSubjectPublicKeyInfo().AsSpan().SequenceEqual(key.ExportSubjectPublicKeyInfo()))
        {
            throw new SwarmException($"{keyPath} is not the private key of {certificatePath} (their public keys differ); pass the key file written together with that certificate");
        }
    }

    /// <summary>
    /// Writes a certificate and its private key. Both names are checked before either is written; each file is written
    /// under a temporary name, flushed to disk and renamed, the key created with mode 0600.
    /// </summary>
    public static void WritePair(string certificatePath, X509Certificate2 certificate, string keyPath, ECDsa key, bool overwrite) =>
        WriteWithKey(certificatePath, certificate.ExportCertificatePem(), keyPath, key, overwrite);

    /// <summary>Writes a public PEM file (a certificate, or a signing request) and its private key, as <see cref="WritePair"/>.</summary>
    public static void WriteWithKey(string certificatePath, string publicPem, string keyPath, ECDsa key, bool overwrite)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(certificatePath);
        ArgumentException.ThrowIfNullOrWhiteSpace(keyPath);
        if (string.Equals(Path.GetFullPath(certificatePath), Path.GetFullPath(keyPath), StringComparison.Ordinal))
        {
            throw new SwarmException($"{certificatePath}: the certificate and the key need two different files");
        }

        foreach (var path in new[] { certificatePath, keyPath })
        {
            if (Directory.Exists(path))
            {
                throw new SwarmException($"{path} is a directory; give a file name");
            }

            if (!overwrite && File.Exists(path))
            {
                throw new SwarmException($"{path} already exists and was kept; pass --force to replace it, or choose another name or directory");
            }
        }

        var certificateBytes = Encoding.ASCII.GetBytes(publicPem + "\n");
        var keyDer = key.ExportPkcs8PrivateKey();
        var keyChars = PemEncoding.Write(PrivateKeyLabel, keyDer);
        var keyBytes = new byte[Encoding.ASCII.GetByteCount(keyChars) + 1];
        try
        {
            Encoding.ASCII.GetBytes(keyChars, keyBytes);
            keyBytes[^1] = (byte)'\n';
            var keyTemp = WriteTemporary(keyPath, keyBytes, secret: true);
            var certificateTemp = WriteTemporary(certificatePath, certificateBytes, secret: false);
            MoveInto(keyTemp, keyPath, overwrite, alsoDelete: certificateTemp);
            try
            {
                MoveInto(certificateTemp, certificatePath, overwrite, alsoDelete: null);
            }
            catch
            {
                // Without the certificate the key is useless, and left behind it would block the next attempt.
                if (!overwrite)
                {
                    TryDelete(keyPath);
                }

                throw;
            }

            if (!OperatingSystem.IsWindows())
            {
                // Created 0600 already; set again in case an existing file was replaced through a rename on a
                // file system that ignores the creation mode.
                File.SetUnixFileMode(keyPath, KeyFileMode);
            }
        }
        finally
        {
            CryptographicOperations.ZeroMemory(keyDer);
            CryptographicOperations.ZeroMemory(keyBytes);
            Array.Clear(keyChars);
        }
    }

    /// <summary>Writes one public PEM file (a certificate) under a temporary name, flushed and renamed.</summary>
    public static void WritePublic(string path, string pem, bool overwrite)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        if (Directory.Exists(path))
        {
            throw new SwarmException($"{path} is a directory; give a file name");
        }

        if (!overwrite && File.Exists(path))
        {
            throw new SwarmException($"{path} already exists and was kept; pass --force to replace it, or choose another name");
        }

        MoveInto(WriteTemporary(path, Encoding.ASCII.GetBytes(pem + "\n"), secret: false), path, overwrite, alsoDelete: null);
    }

    /// <summary>Reads a whole PEM text file of a bounded size; <paramref name="what"/> names it in errors.</summary>
    public static string ReadPemText(string path, string what) => ReadText(path, what);

    private static string WriteTemporary(string path, byte[] contents, bool secret)
    {
        var directory = Path.GetDirectoryName(Path.GetFullPath(path))!;
        try
        {
            Directory.CreateDirectory(directory);
            var temp = Path.Combine(directory, $".{Path.GetFileName(path)}.{Guid.NewGuid():N}.tmp");
            var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write, Share = FileShare.None };
            if (secret && !OperatingSystem.IsWindows())
            {
                options.UnixCreateMode = KeyFileMode;
            }

            using (var stream = new FileStream(temp, options))
            {
                stream.Write(contents);
                stream.Flush(flushToDisk: true);
            }

            return temp;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new SwarmException($"{path}: cannot write ({e.Message.TrimEnd('.')})", e);
        }
    }

    private static void MoveInto(string temp, string path, bool overwrite, string? alsoDelete)
    {
        try
        {
            File.Move(temp, path, overwrite);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            TryDelete(temp);
            if (alsoDelete is not null)
            {
                TryDelete(alsoDelete);
            }

            throw new SwarmException(
                !overwrite && File.Exists(path) ? $"{path} appeared while it was being written and was kept; pass --force to replace it"
                : $"{path}: cannot write ({e.Message.TrimEnd('.')})",
                e);
        }
    }

    private static void TryDelete(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // Best effort: the error that made us clean up is the one to report.
        }
    }

    private static string ReadText(string path, string what)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        try
        {
            var info = new FileInfo(path);
            if (Directory.Exists(path))
            {
                throw new SwarmException($"{path} is a directory, not a {what} file");
            }

            if (!info.Exists)
            {
                throw new SwarmException($"{path}: no such {what} file");
            }

            if (info.Length > MaxFileBytes)
            {
                throw new SwarmException($"{path} is {info.Length:N0} bytes, too large for a PEM {what}; is it the right file?");
            }

            return File.ReadAllText(path, Encoding.ASCII);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new SwarmException($"{path}: cannot read the {what} ({e.Message.TrimEnd('.')})", e);
        }
    }

    /// <summary>The PEM blocks of a text, label and decoded bytes.</summary>
    private static IEnumerable<(string Label, byte[] Der)> Sections(string text)
    {
        var offset = 0;
        while (offset < text.Length && PemEncoding.TryFind(text.AsSpan(offset), out var fields))
        {
            var label = text[(offset + fields.Label.Start.Value)..(offset + fields.Label.End.Value)];
            var der = new byte[fields.DecodedDataLength];
            var decoded = Convert.TryFromBase64Chars(text.AsSpan(offset)[fields.Base64Data], der, out var written) && written == der.Length;
            offset += fields.Location.End.Value;
            if (decoded)
            {
                // TryFind has checked the base64 already; this only guards against a disagreement between the two.
                yield return (label, der);
            }
        }
    }

    private static X509Certificate2 LoadCertificate(string path, byte[] der, int index)
    {
        try
        {
            return X509CertificateLoader.LoadCertificate(der);
        }
        catch (CryptographicException e)
        {
            throw new SwarmException($"{path}: certificate {index + 1} is not a valid X.509 certificate ({e.Message.TrimEnd('.')})", e);
        }
    }
}
