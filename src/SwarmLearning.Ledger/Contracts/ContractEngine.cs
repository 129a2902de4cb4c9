using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using SwarmLearning.Identity;
using SwarmLearning.Ledger.Transactions;
using SwarmLearning.Safetensors;

namespace SwarmLearning.Ledger.Contracts;

/// <summary>
/// The contracts: deterministic rules that turn a state and a block's transactions into the next state. Every SN runs
/// the same rules on the same blocks; time comes only from block timestamps. Each transaction is validated completely
/// before it changes anything, so a refused transaction leaves the state as it was.
/// </summary>
/// <remarks>The rules are split by contract: membership, training (contracts and rounds), and tasks.</remarks>
internal sealed partial class ContractEngine
{
    private const int MaxNameLength = 128;

    // Public keys of members, parsed once. Not part of the state: derived from the certificates in it.
    private readonly Dictionary<Fingerprint, ECDsa> _keys = [];

    /// <summary>Creates the state of a new chain from its genesis transaction, applied at the genesis block's time.</summary>
    public static LedgerState CreateGenesisState(Transaction genesis, long time, List<LedgerEvent> events)
    {
        if (genesis.Type != TransactionTypes.Genesis)
        {
            throw new TransactionRejectedException($"block 0 must hold one '{TransactionTypes.Genesis}' transaction, not '{genesis.Type}'");
        }

        if (genesis.ChainId.Span.ContainsAnyExcept((byte)0))
        {
            throw new TransactionRejectedException("the genesis transaction's chain id must be all zero");
        }

        var payload = ParsePayload(genesis, PayloadJson.Default.GenesisPayload);
        var authorities = new List<X509Certificate2>();
        foreach (var (encoded, i) in payload.Authorities.Select((a, i) => (a, i)))
        {
            authorities.Add(ParseCertificate(encoded, $"genesis: authorities[{i}]"));
        }

        if (authorities.Count == 0)
        {
            throw new TransactionRejectedException("genesis: 'authorities' names no CA certificate; the swarm would trust nobody");
        }

        var administrators = new List<Fingerprint>();
        foreach (var admin in payload.Administrators)
        {
            administrators.Add(ParseFingerprint(admin, "genesis: administrators"));
        }

        ValidateDefaults(payload.Defaults);
        SwarmTrust trust;
        try
        {
            trust = new SwarmTrust(authorities);
        }
        catch (SwarmException e)
        {
            throw new TransactionRejectedException($"genesis: authorities: {e.Message}", e);
        }

        var chainId = genesis.Id.AsSpan().ToArray();
        var state = new LedgerState(payload, chainId, administrators, trust) { Time = time };
        var orderer = ValidateRegistration(state, genesis.Sender, payload.Orderer, "genesis: orderer");
        if (orderer.Role != SwarmRole.Sn)
        {
            throw new TransactionRejectedException($"genesis: the orderer '{orderer.Name}' must be an SN, not {SwarmRoles.ToName(orderer.Role)}");
        }

        using (var key = LoadKey(orderer.Certificate))
        {
            if (!genesis.VerifySignature(key))
            {
                throw new TransactionRejectedException(RejectionKind.BadSignature, "genesis: the signature does not verify with the orderer's certificate");
            }
        }

        state.Members.Add(orderer.Fingerprint, orderer);
        state.Sequences[orderer.Fingerprint] = genesis.Sequence;
        state.Orderer = orderer.Fingerprint;
        AddGenesisEnrolments(state, payload, orderer);
        state.Contracts.Add(payload.Defaults.DefaultContract, new TrainingContractState { Name = payload.Defaults.DefaultContract, CreatedBy = default, CreatedAt = time });
        state.TaskRunners.Add(payload.Defaults.DefaultTaskRunner, new TaskRunnerState { Name = payload.Defaults.DefaultTaskRunner, CreatedBy = default, CreatedAt = time });
        events.Add(new LedgerEvent(0, time, "swarm.created", null, null, orderer.Fingerprint.ToString(),
            $"swarm '{payload.Swarm}' created by sentinel '{orderer.Name}', trusting {authorities.Count} CA(s)"));
        return state;
    }

    /// <summary>Moves the state to a new block: its height and time, and the rules that fire with time.</summary>
    public static void BeginBlock(LedgerState state, long height, long time, List<LedgerEvent> events)
    {
        state.Height = height;
        state.Time = time;
        foreach (var contract in state.Contracts.Values)
        {
            EvaluateRound(state, contract, events);
        }
    }

    /// <summary>Checks a transaction's signature against its sender's certificate (the payload's, for a registration).</summary>
    public void VerifySignature(LedgerState state, Transaction tx)
    {
        if (tx.Type == TransactionTypes.Register)
        {
            // A registration carries its own certificate: verify with it; ApplyRegister checks it is the sender's.
            var payload = ParsePayload(tx, PayloadJson.Default.RegisterPayload);
            var der = DecodeBase64(payload.Certificate, "certificate");
            if (Fingerprint.Of(der) != tx.Sender)
            {
                throw new TransactionRejectedException(RejectionKind.BadSignature,
                    $"member.register from {tx.Sender.Short}: the sender is not the fingerprint of the certificate in the payload");
            }

            using var key = LoadKey(der);
            if (!tx.VerifySignature(key))
            {
                throw new TransactionRejectedException(RejectionKind.BadSignature, $"{tx}: the signature does not verify with the certificate in the payload");
            }

            return;
        }

        if (!state.Members.TryGetValue(tx.Sender, out var member))
        {
            throw new TransactionRejectedException(RejectionKind.BadSignature,
                $"{tx}: the sender is not a member of this swarm; register first (member.register)");
        }

        if (!_keys.TryGetValue(tx.Sender, out var senderKey))
        {
            senderKey = LoadKey(member.Certificate);
            _keys[tx.Sender] = senderKey;
        }

        if (!tx.VerifySignature(senderKey))
        {
            throw new TransactionRejectedException(RejectionKind.BadSignature, $"{tx}: forged or corrupted: the signature does not verify with the certificate of '{member.Name}'");
        }
    }

    /// <summary>
    /// Applies one transaction whose signature was verified. Throws <see cref="TransactionRejectedException"/>, with the
    /// state unchanged, when the rules refuse it.
    /// </summary>
    public void Apply(LedgerState state, Transaction tx, List<LedgerEvent> events)
    {
        if (!tx.ChainId.Span.SequenceEqual(state.ChainId.Span))
        {
            throw new TransactionRejectedException(RejectionKind.Forbidden, $"{tx}: signed for another swarm (its chain id is not this swarm's genesis)");
        }

        if (state.Sequences.TryGetValue(tx.Sender, out var last) && tx.Sequence <= last)
        {
            throw new TransactionRejectedException(RejectionKind.Replay,
                $"{tx}: replayed or out of order: sequence {tx.Sequence} is not above {last}, the last accepted from this sender; use {last + 1} or higher");
        }

        MemberState? sender = null;
        if (tx.Type != TransactionTypes.Register)
        {
            sender = RequireMember(state, tx);
        }

        switch (tx.Type)
        {
            case TransactionTypes.Register: ApplyRegister(state, tx, events); break;
            case TransactionTypes.Enrol: ApplyEnrol(state, tx, sender!, events); break;
            case TransactionTypes.Rotate: ApplyRotate(state, tx, sender!, events); break;
            case TransactionTypes.Heartbeat: ApplyHeartbeat(state, tx, sender!); break;
            case TransactionTypes.Revoke: ApplyRevoke(state, tx, sender!, events); break;
            case TransactionTypes.ContractCreate: ApplyContractCreate(state, tx, sender!, events); break;
            case TransactionTypes.ContractReset: ApplyContractReset(state, tx, sender!, events); break;
            case TransactionTypes.RoundReady: ApplyReady(state, tx, sender!, events); break;
            case TransactionTypes.RoundSubmit: ApplySubmit(state, tx, sender!, events); break;
            case TransactionTypes.RoundMerged: ApplyMerged(state, tx, sender!, events); break;
            case TransactionTypes.TrainingJoin: ApplyJoin(state, tx, sender!, events); break;
            case TransactionTypes.Progress: ApplyProgress(state, tx, sender!); break;
            case TransactionTypes.TrainingEnd: ApplyTrainingEnd(state, tx, sender!, events); break;
            case TransactionTypes.TaskCreate: ApplyTaskCreate(state, tx, sender!, events); break;
            case TransactionTypes.TaskFinalize: ApplyTaskFinalize(state, tx, sender!, events); break;
            case TransactionTypes.TaskDelete: ApplyTaskDelete(state, tx, sender!, events); break;
            case TransactionTypes.TaskRunnerCreate: ApplyTaskRunnerCreate(state, tx, sender!, events); break;
            case TransactionTypes.TaskRunnerAssign: ApplyAssign(state, tx, sender!, events); break;
            case TransactionTypes.TaskRunnerReport: ApplyReport(state, tx, sender!, events); break;
            case TransactionTypes.TaskRunnerReset: ApplyTaskRunnerReset(state, tx, sender!, events); break;
            case TransactionTypes.Genesis:
                throw new TransactionRejectedException(RejectionKind.Forbidden, $"{tx}: a genesis transaction belongs in block 0 only");
            default:
                throw new TransactionRejectedException($"{tx}: unknown transaction type '{tx.Type}'; known types: {string.Join(", ", TransactionTypes.All)}");
        }

        state.Sequences[tx.Sender] = tx.Sequence;
    }

    private static MemberState RequireMember(LedgerState state, Transaction tx)
    {
        if (!state.Members.TryGetValue(tx.Sender, out var member))
        {
            throw new TransactionRejectedException(RejectionKind.Forbidden, $"{tx}: the sender is not a member of this swarm; register first");
        }

        if (member.Revoked)
        {
            throw new TransactionRejectedException(RejectionKind.Forbidden,
                $"{tx}: '{member.Name}' was revoked{(member.RevokeReason is null ? "" : $" ({member.RevokeReason})")} and may not take part any more");
        }

        if (state.AdmissionRefusal(tx.Sender, $"'{member.Name}' (fingerprint {tx.Sender.Short})") is { } refusal)
        {
            throw new TransactionRejectedException(RejectionKind.Forbidden, $"{tx}: {refusal}");
        }

        if (state.Time > member.NotAfter)
        {
            throw new TransactionRejectedException(RejectionKind.Forbidden,
                $"{tx}: the certificate of '{member.Name}' expired on {DateTimeOffset.FromUnixTimeMilliseconds(member.NotAfter):u}; issue a new identity");
        }

        return member;
    }

    private static void RequireRole(Transaction tx, MemberState sender, LedgerState state, bool adminAllowed, params SwarmRole[] roles)
    {
        if (roles.Contains(sender.Role) || (adminAllowed && state.IsAdministrator(sender.Fingerprint)))
        {
            return;
        }

        var allowed = string.Join(" or ", roles.Select(SwarmRoles.ToName)) + (adminAllowed ? " members, or administrators" : " members");
        throw new TransactionRejectedException(RejectionKind.Forbidden,
            $"{tx}: '{sender.Name}' is {SwarmRoles.ToName(sender.Role)}; only {allowed} may send {tx.Type}");
    }

    internal static T ParsePayload<T>(Transaction tx, JsonTypeInfo<T> type)
    {
        T? value;
        try
        {
            value = JsonSerializer.Deserialize(tx.Payload.Span, type);
        }
        catch (JsonException e)
        {
            var where = e.Path is null ? "" : $" at {e.Path}";
            throw new TransactionRejectedException($"{tx.Type} payload{where}: {FirstSentence(e.Message)}", e);
        }

        return value ?? throw new TransactionRejectedException($"{tx.Type} payload: must be a JSON object, not null");
    }

    private static string FirstSentence(string message)
    {
        var cut = message.IndexOf(". Path:", StringComparison.Ordinal);
        return cut > 0 ? message[..cut] : message;
    }

    private static void RequireName(string name, string what)
    {
        if (name.Length is 0 or > MaxNameLength || !name.All(c => char.IsAsciiLetterOrDigit(c) || c is '.' or '_' or '-'))
        {
            throw new TransactionRejectedException($"{what} \"{Truncate(name)}\" is not a valid name: 1 to {MaxNameLength} letters, digits, '.', '_' or '-'");
        }
    }

    private static void RequireText(string? value, string what, int max = 160)
    {
        if (value is not null && value.Length > max)
        {
            throw new TransactionRejectedException($"{what} is {value.Length} characters; the limit is {max}");
        }
    }

    private static string Truncate(string s) => s.Length <= 40 ? s : s[..40] + "…";

    internal static Fingerprint ParseFingerprint(string hex, string what) =>
        Fingerprint.TryParse(hex, out var f)
            ? f
            : throw new TransactionRejectedException($"{what}: \"{Truncate(hex)}\" is not a fingerprint (64 hex digits)");

    private static void RequireHash(string hex, string what)
    {
        if (!ModelHash.IsValid(hex))
        {
            throw new TransactionRejectedException($"{what}: \"{Truncate(hex)}\" is not a model hash (64 lowercase hex digits: BLAKE3)");
        }
    }

    private static byte[] DecodeBase64(string value, string what)
    {
        try
        {
            return Convert.FromBase64String(value);
        }
        catch (FormatException e)
        {
            throw new TransactionRejectedException($"{what}: not valid base64", e);
        }
    }

    private static X509Certificate2 ParseCertificate(string base64, string what)
    {
        var der = DecodeBase64(base64, what);
        try
        {
            return X509CertificateLoader.LoadCertificate(der);
        }
        catch (CryptographicException e)
        {
            throw new TransactionRejectedException($"{what}: not a DER certificate ({e.Message})", e);
        }
    }

    private static ECDsa LoadKey(byte[] certificateDer)
    {
        // The payload converters refuse undecodable certificates before this; the guard keeps a certificate that still
        // fails here a refusal of its transaction, never an exception that would fail the orderer's whole block.
        try
        {
            using var certificate = X509CertificateLoader.LoadCertificate(certificateDer);
            return certificate.GetECDsaPublicKey()
                ?? throw new TransactionRejectedException(RejectionKind.BadSignature, $"certificate '{certificate.Subject}' has no ECDSA key; swarm identities use ECDSA P-256");
        }
        catch (CryptographicException e)
        {
            throw new TransactionRejectedException(RejectionKind.BadSignature, $"the certificate's public key cannot be read ({e.Message})");
        }
    }

    private static void ValidateDefaults(LedgerDefaults d)
    {
        if (d.FullQuorumWaitSeconds is < 0 or > 86_400 || d.HeartbeatIntervalSeconds is < 1 or > 3600
            || d.MemberTimeoutSeconds < d.HeartbeatIntervalSeconds || d.MemberTimeoutSeconds > 86_400 || d.MergeTimeoutSeconds is < 1 or > 86_400)
        {
            throw new TransactionRejectedException(
                "genesis: defaults out of range (fullQuorumWaitSeconds 0–86400, heartbeatIntervalSeconds 1–3600, memberTimeoutSeconds ≥ heartbeatIntervalSeconds, mergeTimeoutSeconds 1–86400)");
        }

        RequireName(d.DefaultContract, "genesis: defaultContract");
        RequireName(d.DefaultTaskRunner, "genesis: defaultTaskRunner");
    }
}
