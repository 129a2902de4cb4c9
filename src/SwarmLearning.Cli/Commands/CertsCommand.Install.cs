using System.CommandLine;
using SwarmLearning.Identity;

namespace SwarmLearning.Cli.Commands;

/// <summary>
/// <c>swarm certs install</c>: puts a renewed certificate and its key in place of a component's identity files, after
/// checking that they can replace them. A running <c>swarm sn</c> or <c>swarm sl</c> that uses those files rotates to
/// them without a restart (docs/identity.md, "Rotating a certificate").
/// </summary>
internal static partial class CertsCommand
{
    /// <summary>What the replaced files are kept as: not <c>*.crt</c>, so directory scans (<c>--enrol DIR</c>, <c>list</c>) skip them.</summary>
    internal const string PreviousSuffix = ".previous";

    private static Command Install(CliIo io)
    {
        var certificate = new Argument<string>("certificate") { Description = "The new certificate (NAME.crt from 'swarm certs sign' or 'issue')." };
        var key = new Argument<string>("key") { Description = "Its private key (NAME.key from 'swarm certs request' or 'issue')." };
        var dir = DirOption($"The directory the component runs from (its NAME.crt, NAME.key and {CaCertificateFile}).");
        var name = new Option<string?>("--name") { Description = "The component whose files to replace (default: the name in the new certificate)." };
        var json = new Option<bool>("--json") { Description = "Print the result as JSON." };
        var command = new Command("install", "Install a renewed certificate and key over a component's identity files (DIR/NAME.crt, DIR/NAME.key), keeping the old pair as NAME.crt.previous and NAME.key.previous. A running 'swarm sn' or 'swarm sl' rotates to it within a heartbeat or two, without a restart.")
        {
            certificate, key, dir, name, json,
        };
        command.SetAction((parse, _) => io.RunAsync(() =>
            Task.FromResult(RunInstall(io, parse.GetValue(certificate)!, parse.GetValue(key)!, parse.GetValue(dir)!, parse.GetValue(name), parse.GetValue(json)))));
        return command;
    }

    private static int RunInstall(CliIo io, string certificatePath, string keyPath, string directory, string? componentName, bool asJson)
    {
        using var next = SwarmIdentity.Load(certificatePath, keyPath);
        componentName ??= next.Name;
        var trust = SwarmTrust.Load(Path.Combine(directory, CaCertificateFile));
        var check = trust.Validate(next.Certificate, DateTimeOffset.UtcNow);
        if (!check.IsValid)
        {
            throw new SwarmException($"{certificatePath}: {check.Reason}; nothing was installed");
        }

        var targetCertificate = Path.Combine(directory, componentName + ".crt");
        var targetKey = Path.Combine(directory, componentName + ".key");
        string? previousCertificate = null;
        string? previousKey = null;
        if (File.Exists(targetCertificate))
        {
            var current = CertificateSummary.Read(targetCertificate)[0];
            if (current.Fingerprint == next.Fingerprint)
            {
                throw new SwarmException($"{targetCertificate} already holds this certificate ({next.Fingerprint.Short}); nothing to install");
            }

            if (current.Role != next.Role || !string.Equals(current.Name, next.Name, StringComparison.Ordinal))
            {
                throw new SwarmException(
                    $"{certificatePath} is {SwarmRoles.ToName(next.Role)} '{next.Name}', but {targetCertificate} is {(current.Role is { } r ? SwarmRoles.ToName(r) : "no role")} '{current.Name}'; a rotation keeps the role and the name, so nothing was installed");
            }

            previousCertificate = targetCertificate + PreviousSuffix;
            File.Copy(targetCertificate, previousCertificate, overwrite: true);
            if (File.Exists(targetKey))
            {
                previousKey = targetKey + PreviousSuffix;
                File.Copy(targetKey, previousKey, overwrite: true);
                if (!OperatingSystem.IsWindows())
                {
                    File.SetUnixFileMode(previousKey, UnixFileMode.UserRead | UnixFileMode.UserWrite);
                }
            }
        }
        else if (!string.Equals(componentName, next.Name, StringComparison.Ordinal))
        {
            throw new SwarmException($"{certificatePath} is named '{next.Name}', not '{componentName}', and {targetCertificate} does not exist; nothing was installed");
        }

        next.Save(targetCertificate, targetKey, overwrite: true);
        var summary = CertificateSummary.Of(next.Certificate);
        var kept = previousCertificate is null ? "" : $" (the previous pair is kept as {previousCertificate}{(previousKey is null ? "" : $" and {previousKey}")})";
        var footer =
            "A running 'swarm sn' or 'swarm sl' using these files rotates to the new certificate within a heartbeat or two\n" +
            "(member.rotate, signed with its current key), and says so in its log. If no running node uses them (a stopped\n" +
            "node, a swci or swop identity), nothing has rotated yet: record the rotation first with 'swarm ctl rotate\n" +
            $"NEW.crt NEW.key --name {componentName} --certs {directory}' while the previous pair is in place, then install.";
        return ReportIdentity(io, asJson, targetCertificate, targetKey, summary, capped: false, $"installed {targetCertificate} and {targetKey} (mode 0600){kept}", footer);
    }
}
