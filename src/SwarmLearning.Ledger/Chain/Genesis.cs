using System.Text.Json;
using SwarmLearning.Identity;
using SwarmLearning.Ledger.Blocks;
using SwarmLearning.Ledger.Contracts;
using SwarmLearning.Ledger.Transactions;

namespace SwarmLearning.Ledger.Chain;

/// <summary>Creates a swarm's genesis block: the sentinel's job, once.</summary>
public static class Genesis
{
    /// <summary>
    /// Builds and signs the genesis block: the sentinel registers itself as the orderer, the swarm trusts
    /// <paramref name="authorities"/>, <paramref name="administrators"/> (and the sentinel) may administer it, and only
    /// enrolled identities are admitted: the sentinel, the administrators and <paramref name="enrolled"/> from the start.
    /// </summary>
    public static Block Create(
        SwarmIdentity sentinel,
        string swarmName,
        IEnumerable<System.Security.Cryptography.X509Certificates.X509Certificate2> authorities,
        IEnumerable<Fingerprint> administrators,
        LedgerDefaults defaults,
        string? host,
        int? apiPort,
        int? peerPort,
        DateTimeOffset now,
        IEnumerable<EnrolPayload>? enrolled = null)
    {
        ArgumentNullException.ThrowIfNull(sentinel);
        var payload = new GenesisPayload
        {
            Swarm = swarmName,
            Authorities = authorities.Select(a => Convert.ToBase64String(a.RawData)).ToList(),
            Administrators = administrators.Select(a => a.ToString()).ToList(),
            Orderer = new RegisterPayload
            {
                Role = SwarmRoles.ToName(sentinel.Role),
                Name = sentinel.Name,
                Certificate = Convert.ToBase64String(sentinel.Certificate.RawData),
                Host = host,
                ApiPort = apiPort,
                PeerPort = peerPort,
            },
            Defaults = defaults,
            RequireEnrolment = true,
            Enrolled = enrolled?.ToList() ?? [],
        };
        var tx = Transaction.Create(sentinel, new byte[Transaction.ChainIdSize], TransactionTypes.Genesis, 0, JsonSerializer.SerializeToUtf8Bytes(payload, PayloadJson.Default.GenesisPayload));
        var time = now.ToUnixTimeMilliseconds();
        var state = ContractEngine.CreateGenesisState(tx, time, []);
        state.Height = 0;
        return Block.Create(sentinel, 0, new byte[Block.HashSize], time, [tx], state.ComputeHash());
    }
}
