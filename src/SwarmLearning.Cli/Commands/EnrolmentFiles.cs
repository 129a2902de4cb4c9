using SwarmLearning.Identity;
using SwarmLearning.Ledger.Transactions;

namespace SwarmLearning.Cli.Commands;

/// <summary>
/// Turns certificate files into enrolments (fingerprint, role, name), checking each against the swarm's CA first, so
/// that nobody enrols an identity the swarm would refuse anyway. For <c>swarm sn --sentinel --enrol</c> and
/// <c>swarm ctl enrol</c>.
/// </summary>
internal static class EnrolmentFiles
{
    /// <summary>
    /// The enrolments for <paramref name="path"/>: one certificate file, or every <c>*.crt</c> of a directory but
    /// <c>ca.crt</c>. In a directory, a certificate the swarm's CA does not vouch for (or an unreadable file) is skipped
    /// with a line in <paramref name="warnings"/>; a single file that fails is an error.
    /// </summary>
    public static List<EnrolPayload> Read(string path, SwarmTrust trust, DateTimeOffset now, string note, List<string> warnings)
    {
        if (Directory.Exists(path))
        {
            var enrolments = new List<EnrolPayload>();
            foreach (var file in Directory.EnumerateFiles(path, "*.crt").Where(f => Path.GetFileName(f) != "ca.crt").Order(StringComparer.Ordinal))
            {
                try
                {
                    enrolments.Add(One(file, trust, now, note));
                }
                catch (SwarmException e)
                {
                    warnings.Add($"warning: {e.Message}; not enrolled");
                }
            }

            return enrolments.Count > 0
                ? enrolments
                : throw new SwarmException($"{path}: no certificate of this swarm's CA to enrol; the directory should hold NAME.crt files issued with 'swarm certs issue'");
        }

        if (!File.Exists(path))
        {
            throw new SwarmException($"{path}: no such file or directory; give a certificate file (NAME.crt) or a directory of them");
        }

        return [One(path, trust, now, note)];
    }

    /// <summary>The enrolment for one certificate file; a certificate the swarm's CA does not vouch for is an error.</summary>
    public static EnrolPayload One(string file, SwarmTrust trust, DateTimeOffset now, string? note)
    {
        var (check, fingerprint) = trust.ValidateFile(file, now);
        if (!check.IsValid)
        {
            throw new SwarmException($"{file}: {check.Reason}; only valid identities of this swarm's CA can be enrolled");
        }

        return new EnrolPayload { Fingerprint = fingerprint.ToString(), Role = SwarmRoles.ToName(check.Role), Name = check.Name, Note = note };
    }
}
