using System.CommandLine;
using SwarmLearning.Cli.Ctl;
using SwarmLearning.Identity;
using SwarmLearning.Ledger.Contracts;
using SwarmLearning.Ledger.Transactions;
using SwarmLearning.Network;
using SwarmLearning.Network.Api;

namespace SwarmLearning.Cli.Commands;

/// <summary>
/// <c>swarm ctl</c>: HPE's SWCI. Administers a swarm through an SN's API, over mutual TLS with an identity of the swarm:
/// contexts, training contracts, tasks and task runners, nodes, the ledger; identities (enrol, revoke, rotate, members); SWCI
/// scripts and a prompt; and the same over REST (<c>serve</c>). Every command is a <see cref="CtlStatement"/> run by
/// <see cref="CtlRunner"/> (<c>src/SwarmLearning.Cli/Ctl/</c>); this class is the command-line front only.
/// </summary>
internal static partial class CtlCommand
{
    public static Command Create(CliIo io)
    {
        var command = new Command("ctl",
            "Administer a swarm through an SN (SWCI): contexts, training contracts, tasks and task runners, nodes, the ledger, identities (enrol, revoke, rotate); SWCI scripts, a prompt, and a REST server. Without a subcommand: the SWCI prompt.");
        command.Subcommands.Add(Enrol(io));
        command.Subcommands.Add(Revoke(io));
        command.Subcommands.Add(Rotate(io));
        command.Subcommands.Add(Members(io));
        command.Subcommands.Add(Contexts(io));
        command.Subcommands.Add(Contracts(io));
        command.Subcommands.Add(Tasks(io));
        command.Subcommands.Add(TaskRunners(io));
        command.Subcommands.Add(Nodes(io));
        command.Subcommands.Add(LedgerCommands(io));
        command.Subcommands.Add(Run(io));
        command.Subcommands.Add(Shell(io));
        command.Subcommands.Add(Exec(io));
        command.Subcommands.Add(Serve(io));
        command.SetAction((_, cancellationToken) => io.RunAsync(() => ShellAsync(io, new Connection(), null, cancellationToken)));
        return command;
    }

    /// <summary>The options every ctl command shares: which SN, and which identity to act as (flags over a context).</summary>
    private sealed class Connection
    {
        public Option<string?> Context { get; } = new("--context") { Description = "The context to use (default: the active one; 'swarm ctl context list')." };

        public Option<string?> Config { get; } = new("--config")
        {
            Description = $"The contexts file (default: ${ContextStore.PathVariable}, else $XDG_CONFIG_HOME/swarmlearning/contexts.json).",
        };

        public Option<string?> Sn { get; } = new("--sn")
        {
            Description = $"API address (HOST[:PORT], port {SwarmNetworkOptions.DefaultApiPort} by default) of any SN of the swarm; overrides the context's (default localhost).",
        };

        public Option<string?> Certs { get; } = new("--certs") { Description = "Directory with your identity files and the CA certificate (ca.crt); overrides the context's (default certs)." };

        public Option<string?> Name { get; } = new("--name")
        {
            Description = "Your identity name: uses CERTS/NAME.crt and CERTS/NAME.key; overrides the context's. Enrolling and revoking need an administrator (the sentinel, or one genesis names).",
        };

        public Option<bool> Json { get; } = new("--json") { Description = "Print the result as JSON." };

        public void AddTo(Command command)
        {
            command.Options.Add(Context);
            command.Options.Add(Config);
            command.Options.Add(Sn);
            command.Options.Add(Certs);
            command.Options.Add(Name);
            command.Options.Add(Json);
        }

        public ContextStore Store(ParseResult parse) =>
            new(parse.GetValue(Config) is { } path ? Path.GetFullPath(path) : ContextStore.DefaultPath(Environment.GetEnvironmentVariable));

        public CtlTarget Target(ParseResult parse) => new(parse.GetValue(Context), parse.GetValue(Sn), parse.GetValue(Certs), parse.GetValue(Name));

        public CtlSession Open(ParseResult parse) => CtlSession.Open(Target(parse).Resolve(Store(parse), null));

        public CtlRunner Runner(ParseResult parse, CliIo io, TimeSpan? waitTimeout = null) => new(Store(parse), Target(parse), new CtlRunnerOptions
        {
            Progress = io.Error,
            WaitTimeout = waitTimeout ?? HpeWaitTimeout() ?? CtlRunnerOptions.DefaultWaitTimeout,
        });

        /// <summary>HPE's SWCI_RUN_TASK_MAX_WAIT_TIME, in minutes, if set.</summary>
        private static TimeSpan? HpeWaitTimeout() =>
            double.TryParse(Environment.GetEnvironmentVariable("SWCI_RUN_TASK_MAX_WAIT_TIME"), System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out var minutes) && minutes > 0
                ? TimeSpan.FromMinutes(minutes)
                : null;
    }

    private sealed record EnrolResult(string Action, string Fingerprint, string Role, string Name, string? Note, long Height, string TransactionId);

    private static Command Enrol(CliIo io)
    {
        var connection = new Connection();
        var certificate = new Argument<string?>("CERTFILE") { Description = "The certificate to enrol (NAME.crt), checked against ca.crt.", Arity = ArgumentArity.ZeroOrOne };
        var fingerprint = new Option<string?>("--fingerprint") { Description = "Enrol by fingerprint instead of CERTFILE (with --role and --member-name)." };
        var role = new Option<string?>("--role") { Description = "With --fingerprint: the role in the certificate (sn, sl, swci, swop)." };
        var memberName = new Option<string?>("--member-name") { Description = "With --fingerprint: the name in the certificate." };
        var note = new Option<string?>("--note") { Description = "Why, or who it is, for the record (at most 160 characters)." };
        var command = new Command("enrol", "Enrol an identity (administrators only): from the next block it may connect to the swarm's nodes and register.")
        {
            certificate, fingerprint, role, memberName, note,
        };
        connection.AddTo(command);
        command.Validators.Add(r =>
        {
            var byFile = r.GetValue(certificate) is not null;
            var byFingerprint = r.GetValue(fingerprint) is not null || r.GetValue(role) is not null || r.GetValue(memberName) is not null;
            if (byFile == byFingerprint)
            {
                r.AddError("give either CERTFILE, or --fingerprint, --role and --member-name");
            }
            else if (byFingerprint && (r.GetValue(fingerprint) is null || r.GetValue(role) is null || r.GetValue(memberName) is null))
            {
                r.AddError("enrolling by fingerprint needs all of --fingerprint, --role and --member-name");
            }
        });
        command.SetAction((parse, cancellationToken) => io.RunAsync(async () =>
        {
            using var session = connection.Open(parse);
            EnrolPayload payload;
            if (parse.GetValue(certificate) is { } file)
            {
                payload = EnrolmentFiles.One(file, session.Trust, DateTimeOffset.UtcNow, parse.GetValue(note));
            }
            else
            {
                var f = parse.GetValue(fingerprint)!;
                if (!Fingerprint.TryParse(f, out var parsed))
                {
                    throw new SwarmException($"--fingerprint '{f}' is not a certificate fingerprint (64 hex digits; 'swarm certs show FILE' prints it)");
                }

                if (!SwarmRoles.TryParse(parse.GetValue(role), out var r))
                {
                    throw new SwarmException($"--role '{parse.GetValue(role)}' is not one of sn, sl, swci, swop");
                }

                payload = new EnrolPayload { Fingerprint = parsed.ToString(), Role = SwarmRoles.ToName(r), Name = parse.GetValue(memberName)!, Note = parse.GetValue(note) };
            }

            await session.EnsureMemberAsync(cancellationToken).ConfigureAwait(false);
            var receipt = await SubmitAsync(session, TransactionTypes.Enrol, payload, PayloadJson.Default.EnrolPayload, "the enrolment", cancellationToken).ConfigureAwait(false);
            if (parse.GetValue(connection.Json))
            {
                io.WriteJson(new EnrolResult("enrol", payload.Fingerprint, payload.Role, payload.Name, payload.Note, receipt.Height, receipt.TransactionId));
            }
            else
            {
                await io.Out.WriteLineAsync(
                    $"enrolled {payload.Role} '{payload.Name}' (fingerprint {payload.Fingerprint}) in block {receipt.Height}; it may now connect to the swarm's nodes and register").ConfigureAwait(false);
            }

            return SwarmCli.Success;
        }));
        return command;
    }

    private sealed record RevokeResult(string Action, string Fingerprint, string? Name, string? Reason, long Height, string TransactionId);

    private static Command Revoke(CliIo io)
    {
        var connection = new Connection();
        var member = new Argument<string>("MEMBER") { Description = "The identity to revoke: its certificate file (NAME.crt) or its fingerprint." };
        var reason = new Option<string?>("--reason") { Description = "Why, for the record (at most 160 characters)." };
        var command = new Command("revoke", "Revoke a member or an enrolled identity, for good (administrators only; anyone may revoke itself). Its connections are refused from the next block.")
        {
            member, reason,
        };
        connection.AddTo(command);
        command.SetAction((parse, cancellationToken) => io.RunAsync(async () =>
        {
            using var session = connection.Open(parse);
            var target = parse.GetValue(member)!;
            Fingerprint fingerprint;
            if (!Fingerprint.TryParse(target, out fingerprint))
            {
                if (!File.Exists(target))
                {
                    throw new SwarmException($"'{target}' is neither a certificate fingerprint (64 hex digits) nor a certificate file; give the member's NAME.crt or its fingerprint");
                }

                fingerprint = session.Trust.ValidateFile(target, DateTimeOffset.UtcNow).Fingerprint; // an expired certificate can still be revoked
            }

            await session.EnsureMemberAsync(cancellationToken).ConfigureAwait(false);
            var enrolments = await session.Client.GetEnrolmentsAsync(cancellationToken).ConfigureAwait(false);
            var members = await session.Client.GetMembersAsync(cancellationToken).ConfigureAwait(false);
            var name = members.Find(m => m.Fingerprint == fingerprint.ToString())?.Name ?? enrolments.Find(e => e.Fingerprint == fingerprint.ToString())?.Name;
            var receipt = await SubmitAsync(session, TransactionTypes.Revoke, new RevokePayload { Member = fingerprint.ToString(), Reason = parse.GetValue(reason) },
                PayloadJson.Default.RevokePayload, "the revocation", cancellationToken).ConfigureAwait(false);
            if (parse.GetValue(connection.Json))
            {
                io.WriteJson(new RevokeResult("revoke", fingerprint.ToString(), name, parse.GetValue(reason), receipt.Height, receipt.TransactionId));
            }
            else
            {
                await io.Out.WriteLineAsync($"revoked '{name ?? fingerprint.Short}' (fingerprint {fingerprint}) in block {receipt.Height}; the swarm's nodes refuse it from now on").ConfigureAwait(false);
            }

            return SwarmCli.Success;
        }));
        return command;
    }

    private sealed record RotateResult(string Action, string Role, string Name, string From, string To, string? Reason, long Height, string TransactionId);

    /// <summary>
    /// <c>swarm ctl rotate NEWCERT NEWKEY</c>: records <c>member.rotate</c> for the identity ctl runs as, for identities that
    /// no running node rotates by itself (an administrator's swci, a swop, a node that is stopped).
    /// </summary>
    private static Command Rotate(CliIo io)
    {
        var connection = new Connection();
        var certificate = new Argument<string>("NEWCERT") { Description = "The new certificate (from 'swarm certs sign' or 'issue'), with your identity's role and name." };
        var key = new Argument<string>("NEWKEY") { Description = "Its private key (from 'swarm certs request' or 'issue'): it signs the proof that you hold it." };
        var reason = new Option<string?>("--reason") { Description = "Why, for the record (at most 160 characters)." };
        var command = new Command("rotate", "Move your identity (CERTS/NAME.crt) to a new certificate on the ledger, signed with your current key; the old certificate is retired. For a running 'swarm sn' or 'swarm sl' use 'swarm certs install' instead: it rotates by itself. Afterwards install the new pair with 'swarm certs install'.")
        {
            certificate, key, reason,
        };
        connection.AddTo(command);
        command.SetAction((parse, cancellationToken) => io.RunAsync(async () =>
        {
            using var session = connection.Open(parse);
            var certificatePath = parse.GetValue(certificate)!;
            using var next = SwarmIdentity.Load(certificatePath, parse.GetValue(key)!);
            var check = session.Trust.Validate(next.Certificate, DateTimeOffset.UtcNow);
            var problem = !check.IsValid ? check.Reason
                : next.Fingerprint == session.Identity.Fingerprint ? $"it is the certificate '{session.Identity.Name}' already uses"
                : next.Role != session.Identity.Role || !string.Equals(next.Name, session.Identity.Name, StringComparison.Ordinal)
                    ? $"it is {SwarmRoles.ToName(next.Role)} '{next.Name}', but you are {SwarmRoles.ToName(session.Identity.Role)} '{session.Identity.Name}'; a rotation keeps the role and the name"
                : null;
            if (problem is not null)
            {
                throw new SwarmException($"{certificatePath}: {problem}; nothing was sent");
            }

            await session.EnsureMemberAsync(cancellationToken).ConfigureAwait(false);
            var status = await session.Client.GetStatusAsync(cancellationToken).ConfigureAwait(false);
            var payload = RotationProof.CreatePayload(session.Identity, next, Convert.FromHexString(status.ChainId), parse.GetValue(reason));
            var receipt = await SubmitAsync(session, TransactionTypes.Rotate, payload, PayloadJson.Default.RotatePayload, "the rotation", cancellationToken).ConfigureAwait(false);
            if (parse.GetValue(connection.Json))
            {
                io.WriteJson(new RotateResult("rotate", SwarmRoles.ToName(next.Role), next.Name, session.Identity.Fingerprint.ToString(), next.Fingerprint.ToString(),
                    parse.GetValue(reason), receipt.Height, receipt.TransactionId));
            }
            else
            {
                var certs = parse.GetValue(connection.Certs)!;
                await io.Out.WriteLineAsync(
                    $"rotated {SwarmRoles.ToName(next.Role)} '{next.Name}' from {session.Identity.Fingerprint.Short} to {next.Fingerprint.Short} in block {receipt.Height}; the old certificate is refused from now on. Install the new pair: swarm certs install {certificatePath} {parse.GetValue(key)} --dir {certs}").ConfigureAwait(false);
            }

            return SwarmCli.Success;
        }));
        return command;
    }

    /// <summary>
    /// One identity as <c>swarm ctl members</c> lists it: enrolled, registered, active, revoked, or rotated (retired in
    /// favour of the certificate <see cref="RotatedTo"/>; its successor names it in <see cref="RotatedFrom"/>).
    /// </summary>
    private sealed record ListedIdentity(
        string Fingerprint, string? Role, string? Name, string Status, bool Administrator, bool Enrolled, bool Registered, bool Active, bool Revoked, string? Host, string? Note,
        string? RotatedTo, string? RotatedFrom);

    private static Command Members(CliIo io)
    {
        var connection = new Connection();
        var command = new Command("members", "List the swarm's identities: enrolled (may connect and register), registered, active (heartbeating), revoked, rotated (retired for a new certificate, which is listed with 'was' and the old fingerprint); administrators marked.");
        connection.AddTo(command);
        command.SetAction((parse, cancellationToken) => io.RunAsync(async () =>
        {
            using var session = connection.Open(parse);
            var members = await session.Client.GetMembersAsync(cancellationToken).ConfigureAwait(false);
            var enrolments = await session.Client.GetEnrolmentsAsync(cancellationToken).ConfigureAwait(false);
            var listed = List(members, enrolments);
            if (parse.GetValue(connection.Json))
            {
                io.WriteJson(listed);
                return SwarmCli.Success;
            }

            await io.Out.WriteLineAsync($"{"ROLE",-5} {"NAME",-20} {"STATUS",-10} {"ADMIN",-5} FINGERPRINT").ConfigureAwait(false);
            foreach (var i in listed)
            {
                var rotation = i.RotatedTo is { } to ? $"  -> {to[..12]}" : i.RotatedFrom is { } from ? $"  (was {from[..12]})" : "";
                await io.Out.WriteLineAsync($"{i.Role ?? "-",-5} {i.Name ?? "-",-20} {i.Status,-10} {(i.Administrator ? "yes" : ""),-5} {i.Fingerprint}{rotation}").ConfigureAwait(false);
            }

            return SwarmCli.Success;
        }));
        return command;
    }

    private static List<ListedIdentity> List(List<MemberView> members, List<EnrolmentView> enrolments)
    {
        var byFingerprint = members.ToDictionary(m => m.Fingerprint, StringComparer.Ordinal);
        var listed = new List<ListedIdentity>();
        foreach (var e in enrolments)
        {
            byFingerprint.Remove(e.Fingerprint, out var m);
            listed.Add(Listed(e.Fingerprint, m?.Role ?? e.Role, m?.Name ?? e.Name, e.Administrator, enrolled: true, m, e.Revoked || m?.Revoked == true, e.Note, e.RotatedTo ?? m?.RotatedTo));
        }

        // Members with no enrolment: a swarm created before enrolment existed admitted them by their CA alone.
        listed.AddRange(byFingerprint.Values.Select(m => Listed(m.Fingerprint, m.Role, m.Name, m.Administrator, enrolled: false, m, m.Revoked, null, m.RotatedTo)));

        // A name's retired certificates after the one in use.
        return [.. listed.OrderBy(i => i.Role, StringComparer.Ordinal).ThenBy(i => i.Name, StringComparer.Ordinal).ThenBy(i => i.RotatedTo is not null)];
    }

    private static ListedIdentity Listed(string fingerprint, string? role, string? name, bool admin, bool enrolled, MemberView? m, bool revoked, string? note, string? rotatedTo)
    {
        var status = revoked ? "revoked" : rotatedTo is not null ? "rotated" : m is null ? "enrolled" : m.Active ? "active" : "registered";
        return new ListedIdentity(fingerprint, role, name, status, admin, enrolled, m is not null, m?.Active == true && !revoked, revoked, m?.Host, note, rotatedTo, m?.RotatedFrom);
    }

    private static async Task<Ledger.Ordering.TransactionReceipt> SubmitAsync<T>(
        CtlSession session, string type, T payload, System.Text.Json.Serialization.Metadata.JsonTypeInfo<T> json, string what, CancellationToken cancellationToken)
    {
        try
        {
            return await session.Client.SubmitAsync(type, payload, json, cancellationToken).ConfigureAwait(false);
        }
        catch (TransactionRejectedException e)
        {
            throw new SwarmException($"the SN at {session.Sn} refused {what}: {e.Message}", e);
        }
    }
}
