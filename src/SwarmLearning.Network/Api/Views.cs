using System.Text.Json;
using SwarmLearning.Identity;
using SwarmLearning.Ledger.Blocks;
using SwarmLearning.Ledger.Contracts;
using SwarmLearning.Ledger.Transactions;

namespace SwarmLearning.Network.Api;

/// <summary>What <c>GET /v1/status</c> answers.</summary>
public sealed record StatusView(
    string Swarm,
    string Node,
    string Fingerprint,
    bool Sentinel,
    long Height,
    string HeadHash,
    string StateHash,
    string ChainId,
    string Orderer,
    long Time,
    string Version);

/// <summary>
/// A member as the API shows it, with whether it is active now. A certificate that was rotated away names its successor
/// (<see cref="RotatedTo"/>: it is retired), and the successor its predecessor.
/// </summary>
public sealed record MemberView(
    string Fingerprint,
    string Role,
    string Name,
    string? Host,
    int? ApiPort,
    int? PeerPort,
    int? FilePort,
    long RegisteredAt,
    long LastHeartbeat,
    bool Active,
    bool Revoked,
    bool Administrator,
    long NotAfter,
    string? RotatedTo = null,
    string? RotatedFrom = null)
{
    internal static MemberView Of(LedgerState state, MemberState m) => new(
        m.Fingerprint.ToString(), SwarmRoles.ToName(m.Role), m.Name, m.Host, m.ApiPort, m.PeerPort, m.FilePort, m.RegisteredAt, m.LastHeartbeat,
        state.IsActive(m.Fingerprint), m.Revoked, state.IsAdministrator(m.Fingerprint), m.NotAfter,
        state.Rotations.TryGetValue(m.Fingerprint, out var r) ? r.New.ToString() : null, state.RotatedFrom(m.Fingerprint)?.ToString());
}

/// <summary>An enrolled identity as the API shows it (<c>GET /v1/enrolments</c>), with whether it has registered.</summary>
public sealed record EnrolmentView(
    string Fingerprint,
    string? Role,
    string? Name,
    string? Note,
    string EnrolledBy,
    long EnrolledAt,
    bool Registered,
    bool Revoked,
    string? RevokeReason,
    bool Administrator,
    string? RotatedTo = null)
{
    internal static EnrolmentView Of(LedgerState state, EnrolmentState e) => new(
        e.Fingerprint.ToString(), e.Role is { } role ? SwarmRoles.ToName(role) : null, e.Name, e.Note, e.EnrolledBy.ToString(), e.EnrolledAt,
        state.Members.ContainsKey(e.Fingerprint), e.Revoked, e.RevokeReason, state.IsAdministrator(e.Fingerprint),
        state.Rotations.TryGetValue(e.Fingerprint, out var r) ? r.New.ToString() : null);
}

/// <summary>A block as the API shows it, payloads as JSON.</summary>
public sealed record BlockView(long Height, string Hash, string PreviousHash, long Timestamp, string Orderer, string StateHash, IReadOnlyList<TransactionView> Transactions)
{
    internal static BlockView Of(Block b) => new(
        b.Height, b.HashHex, Convert.ToHexStringLower(b.PreviousHash.Span), b.Timestamp, b.Orderer.ToString(), Convert.ToHexStringLower(b.StateHash.Span),
        b.Transactions.Select(TransactionView.Of).ToList());
}

/// <summary>A transaction as the API shows it.</summary>
public sealed record TransactionView(string Id, string Type, string Sender, ulong Sequence, JsonElement Payload)
{
    internal static TransactionView Of(Transaction t)
    {
        JsonElement payload;
        try
        {
            using var doc = JsonDocument.Parse(t.Payload);
            payload = doc.RootElement.Clone();
        }
        catch (JsonException)
        {
            payload = JsonSerializer.SerializeToElement(Convert.ToBase64String(t.Payload.Span));
        }

        return new TransactionView(t.Id.ToString(), t.Type, t.Sender.ToString(), t.Sequence, payload);
    }
}

/// <summary>What <c>GET /v1/events</c> answers: the events found and the height to ask from next.</summary>
public sealed record EventBatch(long Next, IReadOnlyList<LedgerEvent> Events);

/// <summary>A sender's last accepted sequence number.</summary>
public sealed record SequenceView(string Sender, ulong Last);
