using System.CommandLine;
using SwarmLearning.Identity;

namespace SwarmLearning.Cli.Commands;

/// <summary><c>swarm certs list</c>: every identity in a directory, with its expiry, warning ahead of it.</summary>
internal static partial class CertsCommand
{
    private const int DefaultWarnDays = 30;

    private static Command List(CliIo io)
    {
        var dir = DirOption("Directory to list (every *.crt in it, and pending *.csr requests).");
        var warnDays = new Option<int>("--warn-days") { Description = "Warn about certificates that expire within this many days.", DefaultValueFactory = _ => DefaultWarnDays };
        warnDays.Validators.Add(r =>
        {
            if (r.GetValueOrDefault<int>() is < 0 or > MaxDays)
            {
                r.AddError($"--warn-days must be from 0 to {MaxDays}, not {r.GetValueOrDefault<int>()}");
            }
        });
        var json = new Option<bool>("--json") { Description = "Print as JSON." };
        var command = new Command("list", "List the identities in a directory: role, name, expiry, whether the key is there; warn about any that expire soon or have expired.")
        {
            dir, warnDays, json,
        };
        command.SetAction((parse, _) => io.RunAsync(() => Task.FromResult(RunList(io, parse.GetValue(dir)!, parse.GetValue(warnDays), parse.GetValue(json)))));
        return command;
    }

    /// <summary>
    /// The warning a long-running component prints at start when its own certificate expires within
    /// <see cref="DefaultWarnDays"/> days (null when it does not): once expired, every peer refuses it.
    /// </summary>
    public static string? ExpiryWarning(SwarmIdentity identity, string certificatePath, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(identity);
        var notAfter = new DateTimeOffset(identity.Certificate.NotAfter.ToUniversalTime(), TimeSpan.Zero);
        return notAfter - now > TimeSpan.FromDays(DefaultWarnDays)
            ? null
            : $"warning: {certificatePath} ('{identity.Name}') expires in {Days(notAfter - now)}, on {Time(notAfter)}; after that every peer refuses it. Renew it now: 'swarm certs request' into another directory, 'swarm certs sign', then 'swarm certs install' over it; the running node rotates to it without a restart";
    }

    private sealed record ListedCertificate(string File, CertificateSummary Summary, bool HasKey, string Status, bool Warn);

    private static int RunList(CliIo io, string directory, int warnDays, bool asJson)
    {
        if (!Directory.Exists(directory))
        {
            throw new SwarmException($"{directory}: no such directory; pass the directory 'swarm certs init' or 'swarm certs request' wrote to with --dir");
        }

        var now = DateTimeOffset.UtcNow;
        var listed = new List<ListedCertificate>();
        var unreadable = new List<(string File, string Problem)>();
        foreach (var file in Directory.EnumerateFiles(directory, "*.crt").Order(StringComparer.Ordinal))
        {
            try
            {
                var summary = CertificateSummary.Read(file)[0];
                var hasKey = File.Exists(Path.ChangeExtension(file, ".key"));
                var warn = now > summary.NotAfter || summary.NotAfter - now <= TimeSpan.FromDays(warnDays);
                listed.Add(new ListedCertificate(file, summary, hasKey, Status(summary, now), warn));
            }
            catch (SwarmException e)
            {
                unreadable.Add((file, e.Message));
            }
        }

        var pending = Directory.EnumerateFiles(directory, "*" + RequestExtension)
            .Where(r => !File.Exists(Path.ChangeExtension(r, ".crt"))).Order(StringComparer.Ordinal).ToList();
        if (asJson)
        {
            io.WriteJson(new
            {
                directory,
                warnDays,
                certificates = listed.Select(c => new
                {
                    file = c.File,
                    role = c.Summary.Role is { } r ? SwarmRoles.ToName(r) : null,
                    name = c.Summary.Name,
                    isAuthority = c.Summary.IsAuthority,
                    fingerprint = c.Summary.Fingerprint.ToString(),
                    notAfter = c.Summary.NotAfter,
                    hasKey = c.HasKey,
                    status = c.Status,
                    warning = c.Warn,
                }),
                unreadable = unreadable.Select(u => new { file = u.File, problem = u.Problem }),
                pendingRequests = pending,
            });
            return SwarmCli.Success;
        }

        var o = io.Out;
        if (listed.Count == 0 && unreadable.Count == 0 && pending.Count == 0)
        {
            o.WriteLine($"{directory}: no certificates (*.crt) or requests (*.csr)");
            return SwarmCli.Success;
        }

        o.WriteLine($"{"file",-20} {"role",-5} {"name",-16} {"key",-4} {"fingerprint",-18} expires");
        foreach (var c in listed)
        {
            var role = c.Summary.Role is { } r ? SwarmRoles.ToName(r) : c.Summary.IsAuthority ? "CA" : "?";
            o.WriteLine($"{Path.GetFileName(c.File),-20} {role,-5} {c.Summary.Name ?? "-",-16} {(c.HasKey ? "yes" : "no"),-4} {c.Summary.Fingerprint.Short,-18} {Time(c.Summary.NotAfter)} ({c.Status})");
        }

        foreach (var request in pending)
        {
            o.WriteLine($"{Path.GetFileName(request),-20} pending: a request not signed yet (swarm certs sign {Quote(request)})");
        }

        foreach (var c in listed.Where(c => c.Warn))
        {
            io.Error.WriteLine(now > c.Summary.NotAfter
                ? $"warning: {c.File} EXPIRED on {Time(c.Summary.NotAfter)}; the swarm refuses it. Make a new request ('swarm certs request') and have it signed"
                : $"warning: {c.File} expires in {Days(c.Summary.NotAfter - now)}, on {Time(c.Summary.NotAfter)}; renew it before then ('swarm certs request', 'swarm certs sign', then 'swarm certs install': a running node rotates to it)");
        }

        foreach (var (file, problem) in unreadable)
        {
            io.Error.WriteLine($"warning: {file} was skipped: {problem}");
        }

        return SwarmCli.Success;
    }
}
