using System.CommandLine;
using System.Globalization;
using SwarmLearning.Identity;

namespace SwarmLearning.Cli.Commands;

/// <summary>
/// <c>swarm certs</c>: the swarm's identities. <c>init</c> makes the CA every site trusts, <c>issue</c> gives a
/// component its certificate and key, <c>request</c> and <c>sign</c> do the same without the key leaving the site,
/// <c>install</c> puts a renewed pair in place (a running node rotates to it), <c>show</c> says what a certificate
/// file holds and <c>list</c> what a directory holds, with expiry warnings. See docs/identity.md.
/// </summary>
internal static partial class CertsCommand
{
    public const string DefaultDirectory = "certs";
    public const string CaCertificateFile = "ca.crt";
    public const string CaKeyFile = "ca.key";
    private const int MaxDays = 36_500;

    public static Command Create(CliIo io)
    {
        var command = new Command("certs", "Make the swarm's certificate authority and issue component identities (certificate and key for an sn, sl, swci or swop). To rotate a running node's certificate: 'request' a new key and request into another directory, have the CA admin 'sign' it, then 'install' it over the node's files.");
        command.Subcommands.Add(Init(io));
        command.Subcommands.Add(Issue(io));
        command.Subcommands.Add(Request(io));
        command.Subcommands.Add(Sign(io));
        command.Subcommands.Add(Install(io));
        command.Subcommands.Add(Show(io));
        command.Subcommands.Add(List(io));
        return command;
    }

    private static Option<string> DirOption(string description) => new("--dir")
    {
        Description = description,
        DefaultValueFactory = _ => DefaultDirectory,
    };

    private static Option<int> DaysOption(TimeSpan defaultValidity, string description)
    {
        var days = new Option<int>("--days") { Description = description, DefaultValueFactory = _ => (int)defaultValidity.TotalDays };
        days.Validators.Add(r =>
        {
            if (r.GetValueOrDefault<int>() is < 1 or > MaxDays)
            {
                r.AddError($"--days must be from 1 to {MaxDays}, not {r.GetValueOrDefault<int>()}");
            }
        });
        return days;
    }

    private static Command Init(CliIo io)
    {
        var dir = DirOption($"Directory to write {CaCertificateFile} and {CaKeyFile} to (created if missing).");
        var name = new Option<string>("--name") { Description = "The swarm's name; the CA is called \"NAME Swarm CA\".", DefaultValueFactory = _ => "swarm" };
        name.Validators.Add(r => ValidateName(r, r.GetValueOrDefault<string>(), "--name"));
        var days = DaysOption(CertificateAuthority.DefaultValidity, "How many days the CA is valid; identities it issues never outlive it.");
        var force = new Option<bool>("--force") { Description = $"Replace an existing {CaCertificateFile} and {CaKeyFile} (every identity the old CA issued stops being trusted)." };
        var json = new Option<bool>("--json") { Description = "Print the result as JSON." };
        var command = new Command("init", $"Make a new swarm CA: DIR/{CaCertificateFile} (give it to every site) and DIR/{CaKeyFile} (keep it secret; it issues identities).")
        {
            dir, name, days, force, json,
        };
        command.SetAction((parse, _) => io.RunAsync(() =>
            Task.FromResult(RunInit(io, parse.GetValue(dir)!, parse.GetValue(name)!, parse.GetValue(days), parse.GetValue(force), parse.GetValue(json)))));
        return command;
    }

    private static Command Issue(CliIo io)
    {
        var role = RoleOption();
        var name = ComponentNameOption("NAME.crt and NAME.key");
        var hosts = HostsOption();
        var dir = DirOption($"Directory holding {CaCertificateFile} and {CaKeyFile}; NAME.crt and NAME.key are written there too.");
        var days = DaysOption(CertificateAuthority.DefaultIdentityValidity, "How many days the identity is valid (never beyond the CA's expiry).");
        var force = new Option<bool>("--force") { Description = "Replace an existing NAME.crt and NAME.key." };
        var json = new Option<bool>("--json") { Description = "Print the result as JSON." };
        var command = new Command("issue", "Issue a component identity signed by the swarm CA: DIR/NAME.crt and DIR/NAME.key, with the role, name and hosts in the certificate.")
        {
            role, name, hosts, dir, days, force, json,
        };
        command.SetAction((parse, _) => io.RunAsync(() =>
        {
            if (!SwarmRoles.TryParse(parse.GetValue(role), out var swarmRole))
            {
                throw new SwarmException($"unknown role '{parse.GetValue(role)}'");
            }

            var hostList = HostList(parse.GetValue(hosts));
            return Task.FromResult(RunIssue(io, parse.GetValue(dir)!, swarmRole, parse.GetValue(name)!, hostList, parse.GetValue(days), parse.GetValue(force), parse.GetValue(json)));
        }));
        return command;
    }

    private static Option<string> RoleOption()
    {
        var role = new Option<string>("--role") { Description = "sn | sl | swci | swop: what the component is, and so what it may do.", Required = true };
        role.Validators.Add(r =>
        {
            if (!SwarmRoles.TryParse(r.GetValueOrDefault<string>(), out _))
            {
                r.AddError($"unknown role '{r.GetValueOrDefault<string>()}'; choose one of {string.Join(", ", SwarmRoles.All.Select(SwarmRoles.ToName))}");
            }
        });
        return role;
    }

    private static Option<string> ComponentNameOption(string files)
    {
        var name = new Option<string>("--name") { Description = $"The component's name (1-64 of A-Z a-z 0-9 . _ -); also the file names {files}.", Required = true };
        name.Validators.Add(r =>
        {
            var value = r.GetValueOrDefault<string>();
            if (ValidateName(r, value, "--name") && Path.GetFileNameWithoutExtension(CaCertificateFile).Equals(value, StringComparison.OrdinalIgnoreCase))
            {
                r.AddError($"--name '{value}' is reserved for the CA's own files; choose another name");
            }
        });
        return name;
    }

    private static Option<string[]> HostsOption() => new("--host")
    {
        Description = "A DNS name or IP address the component is reached at (repeat, or separate with commas). Default: localhost, 127.0.0.1, ::1.",
        Arity = ArgumentArity.ZeroOrMore,
    };

    private static List<string> HostList(string[]? hosts) =>
        [.. (hosts ?? []).SelectMany(h => h.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))];

    private static Command Show(CliIo io)
    {
        var file = new Argument<string>("file") { Description = "A PEM certificate file (NAME.crt, ca.crt, or a bundle of several)." };
        var json = new Option<bool>("--json") { Description = "Print as JSON." };
        var command = new Command("show", "Show what a certificate file holds: role, name, hosts, issuer, fingerprint and validity.")
        {
            file, json,
        };
        command.SetAction((parse, _) => io.RunAsync(() => Task.FromResult(RunShow(io, parse.GetValue(file)!, parse.GetValue(json)))));
        return command;
    }

    private static int RunInit(CliIo io, string directory, string swarmName, int days, bool force, bool asJson)
    {
        var certificatePath = Path.Combine(directory, CaCertificateFile);
        var keyPath = Path.Combine(directory, CaKeyFile);
        using var ca = CertificateAuthority.Create(swarmName, TimeSpan.FromDays(days));
        ca.Save(certificatePath, keyPath, force);
        var summary = CertificateSummary.Of(ca.Certificate);
        if (asJson)
        {
            io.WriteJson(new
            {
                certificate = certificatePath,
                key = keyPath,
                subject = summary.Subject,
                fingerprint = summary.Fingerprint.ToString(),
                notBefore = summary.NotBefore,
                notAfter = summary.NotAfter,
            });
            return SwarmCli.Success;
        }

        var o = io.Out;
        o.WriteLine($"wrote {certificatePath}  the swarm CA certificate: every site trusts it");
        o.WriteLine($"wrote {keyPath}  its private key (mode 0600): keep it secret, whoever holds it can issue identities");
        o.WriteLine();
        o.WriteLine($"  CA           {summary.Subject}");
        o.WriteLine($"  fingerprint  {summary.Fingerprint}");
        o.WriteLine($"  valid until  {Time(summary.NotAfter)}");
        o.WriteLine();
        var dirArgument = directory == DefaultDirectory ? string.Empty : $" --dir {Quote(directory)}";
        o.WriteLine("next: issue an identity for each component, for example");
        o.WriteLine($"  swarm certs issue --role sn --name sn1{dirArgument}");
        o.WriteLine($"  swarm certs issue --role sl --name sl1 --host sl1.example.org{dirArgument}");
        return SwarmCli.Success;
    }

    private static int RunIssue(CliIo io, string directory, SwarmRole swarmRole, string componentName, IReadOnlyList<string> hostList, int requestedDays, bool force, bool asJson)
    {
        var caCertificate = Path.Combine(directory, CaCertificateFile);
        var caKey = Path.Combine(directory, CaKeyFile);
        if (Array.Find([caCertificate, caKey], f => !File.Exists(f)) is { } missing)
        {
            throw new SwarmException($"no swarm CA in {directory} ({missing} not found); run 'swarm certs init --dir {Quote(directory)}' first, or point --dir at the CA's directory");
        }

        using var ca = CertificateAuthority.Load(caCertificate, caKey);
        var now = DateTimeOffset.UtcNow;
        using var identity = ca.Issue(swarmRole, componentName, hostList, TimeSpan.FromDays(requestedDays), now);
        var certificatePath = Path.Combine(directory, componentName + ".crt");
        var keyPath = Path.Combine(directory, componentName + ".key");
        identity.Save(certificatePath, keyPath, force);
        var summary = CertificateSummary.Of(identity.Certificate);
        var capped = summary.NotAfter < now.AddDays(requestedDays).AddSeconds(-1);
        return ReportIdentity(io, asJson, certificatePath, keyPath, summary, capped, $"wrote {certificatePath} and {keyPath} (mode 0600)");
    }

    /// <summary>
    /// What <c>issue</c> and <c>sign</c> print about the certificate they wrote: as JSON, or as a headline, the
    /// identity's lines and an optional last line. <paramref name="keyPath"/> is null when the key is not here.
    /// </summary>
    private static int ReportIdentity(CliIo io, bool asJson, string certificatePath, string? keyPath, CertificateSummary summary, bool capped, string headline, string? footer = null)
    {
        var role = summary.Role is { } r ? SwarmRoles.ToName(r) : null;
        if (asJson)
        {
            io.WriteJson(new
            {
                certificate = certificatePath,
                key = keyPath,
                role,
                name = summary.Name,
                hosts = summary.Hosts,
                fingerprint = summary.Fingerprint.ToString(),
                issuer = summary.Issuer,
                notBefore = summary.NotBefore,
                notAfter = summary.NotAfter,
                cappedAtCaExpiry = capped,
            });
            return SwarmCli.Success;
        }

        var o = io.Out;
        o.WriteLine(headline);
        o.WriteLine();
        o.WriteLine($"  role         {role}");
        o.WriteLine($"  name         {summary.Name}");
        o.WriteLine($"  hosts        {string.Join(", ", summary.Hosts)}");
        o.WriteLine($"  fingerprint  {summary.Fingerprint}");
        o.WriteLine($"  expires      {Time(summary.NotAfter)}{(capped ? " (capped at the CA's expiry)" : string.Empty)}");
        if (footer is not null)
        {
            o.WriteLine();
            o.WriteLine(footer);
        }

        return SwarmCli.Success;
    }

    private static int RunShow(CliIo io, string path, bool asJson)
    {
        var certificates = CertificateSummary.Read(path);
        var now = DateTimeOffset.UtcNow;
        if (asJson)
        {
            io.WriteJson(new
            {
                file = path,
                certificates = certificates.Select(c => new
                {
                    role = c.Role is { } r ? SwarmRoles.ToName(r) : null,
                    name = c.Name,
                    isAuthority = c.IsAuthority,
                    hosts = c.Hosts,
                    subject = c.Subject,
                    issuer = c.Issuer,
                    fingerprint = c.Fingerprint.ToString(),
                    notBefore = c.NotBefore,
                    notAfter = c.NotAfter,
                    serialNumber = c.SerialNumber,
                }),
            });
            return SwarmCli.Success;
        }

        var o = io.Out;
        foreach (var (c, i) in certificates.Select((c, i) => (c, i)))
        {
            if (i > 0)
            {
                o.WriteLine();
            }

            o.WriteLine(certificates.Count == 1 ? path : $"{path} (certificate {i + 1} of {certificates.Count})");
            o.WriteLine($"  role         {RoleText(c)}");
            o.WriteLine($"  name         {c.Name ?? "(none)"}");
            if (!c.IsAuthority || c.Hosts.Count > 0)
            {
                o.WriteLine($"  hosts        {(c.Hosts.Count == 0 ? "(none)" : string.Join(", ", c.Hosts))}");
            }

            o.WriteLine($"  subject      {c.Subject}");
            o.WriteLine($"  issuer       {c.Issuer}");
            o.WriteLine($"  fingerprint  {c.Fingerprint}");
            o.WriteLine($"  valid        {Time(c.NotBefore)} to {Time(c.NotAfter)} ({Status(c, now)})");
            o.WriteLine($"  serial       {c.SerialNumber}");
        }

        return SwarmCli.Success;
    }

    private static string RoleText(CertificateSummary c) =>
        c.Role is { } role ? SwarmRoles.ToName(role)
        : c.IsAuthority ? (string.Equals(c.Subject, c.Issuer, StringComparison.Ordinal) ? "certificate authority (self-signed)" : "certificate authority")
        : "(none: not a swarm identity)";

    private static string Status(CertificateSummary c, DateTimeOffset now) =>
        now < c.NotBefore ? $"not valid for another {Days(c.NotBefore - now)}"
        : now > c.NotAfter ? $"EXPIRED {Days(now - c.NotAfter)} ago"
        : $"expires in {Days(c.NotAfter - now)}";

    private static string Days(TimeSpan span) =>
        span.TotalDays >= 2 ? $"{(int)span.TotalDays} days"
        : span.TotalHours >= 2 ? $"{(int)span.TotalHours} hours"
        : $"{Math.Max(1, (int)Math.Ceiling(span.TotalMinutes))} minutes";

    private static string Time(DateTimeOffset t) => t.UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss 'UTC'", CultureInfo.InvariantCulture);

    private static string Quote(string path) => path.Contains(' ', StringComparison.Ordinal) ? $"'{path}'" : path;

    private static bool ValidateName(System.CommandLine.Parsing.OptionResult r, string? value, string option)
    {
        if (SwarmNames.IsValid(value))
        {
            return true;
        }

        try
        {
            SwarmNames.Validate(value, option);
        }
        catch (SwarmException e)
        {
            r.AddError(e.Message);
        }

        return false;
    }
}
