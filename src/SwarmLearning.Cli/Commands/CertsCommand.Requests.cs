using System.CommandLine;
using SwarmLearning.Identity;

namespace SwarmLearning.Cli.Commands;

/// <summary><c>swarm certs request</c> (at the site) and <c>swarm certs sign</c> (at the CA): identities whose key never travels.</summary>
internal static partial class CertsCommand
{
    private const string RequestExtension = ".csr";

    private static Command Request(CliIo io)
    {
        var role = RoleOption();
        var name = ComponentNameOption("NAME.csr and NAME.key");
        var hosts = HostsOption();
        var dir = DirOption("Directory to write NAME.key and NAME.csr to (created if missing).");
        var force = new Option<bool>("--force") { Description = "Replace an existing NAME.key and NAME.csr." };
        var json = new Option<bool>("--json") { Description = "Print the result as JSON." };
        var command = new Command("request", "At a site: make this component's private key and a certificate request (DIR/NAME.key stays here; DIR/NAME.csr goes to the swarm's CA admin for 'swarm certs sign').")
        {
            role, name, hosts, dir, force, json,
        };
        command.SetAction((parse, _) => io.RunAsync(() =>
        {
            if (!SwarmRoles.TryParse(parse.GetValue(role), out var swarmRole))
            {
                throw new SwarmException($"unknown role '{parse.GetValue(role)}'");
            }

            return Task.FromResult(RunRequest(io, parse.GetValue(dir)!, swarmRole, parse.GetValue(name)!, HostList(parse.GetValue(hosts)), parse.GetValue(force), parse.GetValue(json)));
        }));
        return command;
    }

    private static Command Sign(CliIo io)
    {
        var file = new Argument<string>("request") { Description = "The site's certificate request (NAME.csr, from 'swarm certs request')." };
        var dir = DirOption($"Directory holding the swarm CA ({CaCertificateFile} and {CaKeyFile}).");
        var days = DaysOption(CertificateAuthority.DefaultIdentityValidity, "How many days the identity is valid (never beyond the CA's expiry).");
        var output = new Option<string?>("--out", "-o") { Description = "Where to write the certificate (default: the request's path with .crt)." };
        var force = new Option<bool>("--force") { Description = "Replace an existing certificate file." };
        var json = new Option<bool>("--json") { Description = "Print the result as JSON." };
        var command = new Command("sign", "At the swarm CA: check a site's certificate request and sign it; send the certificate back to the site with ca.crt.")
        {
            file, dir, days, output, force, json,
        };
        command.SetAction((parse, _) => io.RunAsync(() =>
            Task.FromResult(RunSign(io, parse.GetValue(file)!, parse.GetValue(dir)!, parse.GetValue(days), parse.GetValue(output), parse.GetValue(force), parse.GetValue(json)))));
        return command;
    }

    private static int RunRequest(CliIo io, string directory, SwarmRole swarmRole, string componentName, IReadOnlyList<string> hostList, bool force, bool asJson)
    {
        var (pem, key) = SigningRequest.Create(swarmRole, componentName, hostList);
        using (key)
        {
            var requestPath = Path.Combine(directory, componentName + RequestExtension);
            var keyPath = Path.Combine(directory, componentName + ".key");
            SigningRequest.Save(requestPath, pem, keyPath, key, force);
            var request = SigningRequest.Parse(pem, requestPath);
            if (asJson)
            {
                io.WriteJson(new { request = requestPath, key = keyPath, role = SwarmRoles.ToName(request.Role), name = request.Name, hosts = request.Hosts });
                return SwarmCli.Success;
            }

            var o = io.Out;
            o.WriteLine($"wrote {requestPath}  the certificate request: give it to the swarm's CA admin");
            o.WriteLine($"wrote {keyPath}  the private key (mode 0600): it stays on this site");
            o.WriteLine();
            o.WriteLine($"  role   {SwarmRoles.ToName(request.Role)}");
            o.WriteLine($"  name   {request.Name}");
            o.WriteLine($"  hosts  {string.Join(", ", request.Hosts)}");
            o.WriteLine();
            o.WriteLine("next: the CA admin runs");
            o.WriteLine($"  swarm certs sign {Quote(Path.GetFileName(requestPath))} --dir <the CA's directory>");
            o.WriteLine($"and sends back {componentName}.crt and {CaCertificateFile}; put both in {directory}, next to {Path.GetFileName(keyPath)}");
            return SwarmCli.Success;
        }
    }

    private static int RunSign(CliIo io, string requestPath, string directory, int requestedDays, string? output, bool force, bool asJson)
    {
        var caCertificate = Path.Combine(directory, CaCertificateFile);
        var caKey = Path.Combine(directory, CaKeyFile);
        if (Array.Find([caCertificate, caKey], f => !File.Exists(f)) is { } missing)
        {
            throw new SwarmException($"no swarm CA in {directory} ({missing} not found); point --dir at the CA's directory (the one 'swarm certs init' wrote)");
        }

        var request = SigningRequest.Load(requestPath);
        using var ca = CertificateAuthority.Load(caCertificate, caKey);
        var now = DateTimeOffset.UtcNow;
        using var certificate = ca.Sign(request, TimeSpan.FromDays(requestedDays), now);
        var certificatePath = output ?? Path.ChangeExtension(requestPath, ".crt");
        SigningRequest.SaveCertificate(certificatePath, certificate, force);
        var summary = CertificateSummary.Of(certificate);
        var capped = summary.NotAfter < now.AddDays(requestedDays).AddSeconds(-1);
        return ReportIdentity(io, asJson, certificatePath, keyPath: null, summary, capped, $"signed {requestPath}: wrote {certificatePath}",
            $"send {certificatePath} and {caCertificate} back to the site; the private key never came here");
    }
}
