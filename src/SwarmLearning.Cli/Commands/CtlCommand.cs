using System.CommandLine;
using SwarmLearning.Identity;
using SwarmLearning.Ledger.Contracts;
using SwarmLearning.Ledger.Transactions;
using SwarmLearning.Network;
using SwarmLearning.Network.Api;
using SwarmLearning.Network.Client;

namespace SwarmLearning.Cli.Commands;

/// <summary>
/// <c>swarm ctl</c>: administers a swarm through an SN's API (SWCI), over mutual TLS with an identity of the swarm.
/// For now: <c>enrol</c> and <c>revoke</c> identities (administrators only), <c>rotate</c> one's own identity to a new
/// certificate, and list the <c>members</c> (rotated certificates with their successors).
/// </summary>
internal static class CtlCommand
{
    public static Command Create(CliIo io)
    {
        var command = new Command("ctl", "Administer a swarm through an SN (SWCI): enrol and revoke identities, rotate your own to a new certificate, list them. Talks to the SN's API over mutual TLS with your identity.");
        command.Subcommands.Add(Enrol(io));
        command.Subcommands.Add(Revoke(io));
        command.Subcommands.Add(Rotate(io));
        command.Subcommands.Add(Members(io));
        return command;
    }

    /// <summary>The options every ctl command shares: which SN, and which identity to act as.</summary>
    private sealed class Connection
    {
        public Option<string> Sn { get; } = new("--sn")
        {
            Description = $"API address (HOST[:PORT], port {SwarmNetworkOptions.DefaultApiPort} by default) of any SN of the swarm.",
            DefaultValueFactory = _ => $"localhost:{SwarmNetworkOptions.DefaultApiPort}",
        };

        public Option<string> Certs { get; } = new("--certs") { Description = "Directory with your identity files and the CA certificate (ca.crt).", DefaultValueFactory = _ => "certs" };

        public Option<string> Name { get; } = new("--name")
        {
            Description = "Your identity name: uses CERTS/NAME.crt and CERTS/NAME.key. Enrolling and revoking need an administrator (the sentinel, or one genesis names).",
            Required = true,
        };

        public Option<bool> Json { get; } = new("--json") { Description = "Print the result as JSON." };

        public void AddTo(Command command)
        {
            command.Options.Add(Sn);
            command.Options.Add(Certs);
            command.Options.Add(Name);
            command.Options.Add(Json);
        }

        public Session Open(ParseResult parse)
        {
            var certs = parse.GetValue(Certs)!;
            var name = parse.GetValue(Name)!;
            var address = parse.GetValue(Sn)!;
            if (!address.Contains(':', StringComparison.Ordinal))
            {
                address = $"{address}:{SwarmNetworkOptions.DefaultApiPort}";
            }

            if (!SwarmNetworkOptions.TryParseHostPort(address, out var host, out var port))
            {
                throw new SwarmException($"--sn '{address}' is not HOST[:PORT]");
            }

            var trust = SwarmTrust.Load(Path.Combine(certs, "ca.crt"));
            var identity = SwarmIdentity.Load(Path.Combine(certs, $"{name}.crt"), Path.Combine(certs, $"{name}.key"));
            var uri = new UriBuilder("https", host.Contains(':', StringComparison.Ordinal) ? $"[{host}]" : host, port).Uri;
            return new Session(identity, trust, new SwarmNetworkClient(uri, identity, trust));
        }
    }

    /// <summary>An identity and its client of one SN, disposed together.</summary>
    private sealed class Session(SwarmIdentity identity, SwarmTrust trust, SwarmNetworkClient client) : IDisposable
    {
        public SwarmIdentity Identity { get; } = identity;

        public SwarmTrust Trust { get; } = trust;

        public SwarmNetworkClient Client { get; } = client;

        public string Sn => Client.Address.GetLeftPart(UriPartial.Authority);

        /// <summary>Registers this identity first if the ledger does not list it yet: only members send transactions.</summary>
        public async Task EnsureMemberAsync(CancellationToken cancellationToken)
        {
            var members = await Client.GetMembersAsync(cancellationToken).ConfigureAwait(false);
            var me = members.Find(m => m.Fingerprint == Identity.Fingerprint.ToString());
            if (me is not null)
            {
                return;
            }

            try
            {
                await Client.SubmitAsync(TransactionTypes.Register, new RegisterPayload
                {
                    Role = SwarmRoles.ToName(Identity.Role),
                    Name = Identity.Name,
                    Certificate = Convert.ToBase64String(Identity.Certificate.RawData),
                }, PayloadJson.Default.RegisterPayload, cancellationToken).ConfigureAwait(false);
            }
            catch (TransactionRejectedException e)
            {
                throw new SwarmException($"'{Identity.Name}' cannot register with the SN at {Sn}: {e.Message}", e);
            }
        }

        public void Dispose()
        {
            Client.Dispose();
            Identity.Dispose();
        }
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
        Session session, string type, T payload, System.Text.Json.Serialization.Metadata.JsonTypeInfo<T> json, string what, CancellationToken cancellationToken)
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
