using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using SwarmLearning.Identity;
using SwarmLearning.Ledger.Blocks;
using SwarmLearning.Ledger.Chain;
using SwarmLearning.Ledger.Contracts;
using SwarmLearning.Ledger.Transactions;

namespace SwarmLearning.Ledger.Tests;

/// <summary>
/// A swarm for contract tests: a CA made here, identities issued by it, a genesis block, and blocks applied at chosen
/// timestamps through the same verifier every SN uses. Identities are cached per swarm: issuing is cheap, but tests
/// read better with names. An identity issued after genesis is enrolled at once, by the sentinel, in a block of its own
/// at the current time, unless the test asks for one that is not.
/// </summary>
internal sealed class TestSwarm : IDisposable
{
    public const long T0 = 1_800_000_000_000; // a fixed block time, Unix ms

    private readonly Dictionary<string, SwarmIdentity> _identities = [];
    private readonly Dictionary<Fingerprint, ulong> _sequences = [];
    private readonly ChainVerifier _verifier = new();

    public TestSwarm(LedgerDefaults? defaults = null, string[]? administrators = null)
    {
        Ca = CertificateAuthority.Create("test", TimeSpan.FromDays(3650), DateTimeOffset.FromUnixTimeMilliseconds(T0 - 86_400_000));
        Sentinel = Identity("sn0", SwarmRole.Sn);
        Orderer = Sentinel;
        foreach (var a in administrators ?? [])
        {
            Identity(a, SwarmRole.Swci);
        }

        var genesis = Genesis.Create(Sentinel, "test", [Ca.Certificate], (administrators ?? []).Select(a => _identities[a].Fingerprint), defaults ?? new LedgerDefaults(),
            "localhost", 30304, 30303, DateTimeOffset.FromUnixTimeMilliseconds(T0));
        var (state, events) = ChainVerifier.VerifyGenesis(genesis, null);
        State = state;
        Head = genesis;
        Events.AddRange(events);
        _genesisDone = true;
    }

    private readonly bool _genesisDone;

    public CertificateAuthority Ca { get; }

    public SwarmIdentity Sentinel { get; }

    /// <summary>Who signs the blocks <see cref="Apply"/> cuts: the sentinel, until a test rotates its certificate.</summary>
    public SwarmIdentity Orderer { get; set; }

    public LedgerState State { get; private set; }

    public Block Head { get; private set; }

    public long Time => State.Time;

    public List<LedgerEvent> Events { get; } = [];

    public SwarmIdentity Identity(string name, SwarmRole role, bool enrol = true)
    {
        if (!_identities.TryGetValue(name, out var id))
        {
            id = Ca.Issue(role, name, ["localhost"], TimeSpan.FromDays(365), DateTimeOffset.FromUnixTimeMilliseconds(T0 - 3_600_000));
            _identities[name] = id;
            if (enrol && _genesisDone)
            {
                Apply(Time, Enrol(Sentinel, id));
            }
        }

        return id;
    }

    /// <summary><paramref name="administrator"/> enrols <paramref name="id"/> with the role and name of its certificate.</summary>
    public Transaction Enrol(SwarmIdentity administrator, SwarmIdentity id, string? note = null) =>
        Tx(administrator, TransactionTypes.Enrol, new EnrolPayload { Fingerprint = id.Fingerprint.ToString(), Role = SwarmRoles.ToName(id.Role), Name = id.Name, Note = note },
            PayloadJson.Default.EnrolPayload);

    public SwarmIdentity this[string name] => _identities[name];

    public Transaction Tx<T>(SwarmIdentity sender, string type, T payload, JsonTypeInfo<T> json, ulong? sequence = null)
    {
        var seq = sequence ?? (_sequences.GetValueOrDefault(sender.Fingerprint) + 1);
        _sequences[sender.Fingerprint] = Math.Max(seq, _sequences.GetValueOrDefault(sender.Fingerprint));
        return Transaction.Create(sender, State.ChainId.Span, type, seq, JsonSerializer.SerializeToUtf8Bytes(payload, json));
    }

    public Transaction Register(SwarmIdentity id, string? host = "localhost") =>
        Tx(id, TransactionTypes.Register, new RegisterPayload
        {
            Role = SwarmRoles.ToName(id.Role),
            Name = id.Name,
            Certificate = Convert.ToBase64String(id.Certificate.RawData),
            Host = host,
        }, PayloadJson.Default.RegisterPayload);

    /// <summary>
    /// A certificate for <paramref name="name"/> with <paramref name="role"/>, issued by <paramref name="ca"/> (this swarm's
    /// CA by default) and not enrolled or cached: the new certificate of a rotation. The caller disposes it.
    /// </summary>
    public SwarmIdentity Renewed(string name, SwarmRole role, CertificateAuthority? ca = null, long? notBefore = null, TimeSpan? validity = null) =>
        (ca ?? Ca).Issue(role, name, ["localhost"], validity ?? TimeSpan.FromDays(365), DateTimeOffset.FromUnixTimeMilliseconds(notBefore ?? T0 - 3_600_000));

    /// <summary><paramref name="from"/> rotates to <paramref name="to"/>, with the proof signed by <paramref name="prover"/> (the new key by default).</summary>
    public Transaction Rotate(SwarmIdentity from, SwarmIdentity to, string? reason = null, SwarmIdentity? prover = null, byte[]? chainId = null)
    {
        var payload = RotationProof.CreatePayload(from, to, chainId ?? State.ChainId.Span, reason);
        if (prover is not null)
        {
            payload = payload with { Proof = Convert.ToBase64String(prover.Sign(RotationProof.Message(chainId ?? State.ChainId.Span, from.Fingerprint, to.Fingerprint))) };
        }

        return Tx(from, TransactionTypes.Rotate, payload, PayloadJson.Default.RotatePayload);
    }

    public Transaction Heartbeat(SwarmIdentity id) => Tx(id, TransactionTypes.Heartbeat, new EmptyPayload(), PayloadJson.Default.EmptyPayload);

    public Transaction Ready(SwarmIdentity id, long round, int minPeers = 1, double weight = 1, bool makeMeAdmin = true, string? contract = null) =>
        Tx(id, TransactionTypes.RoundReady, new ReadyPayload { Contract = contract ?? LedgerDefaults.HpeDefaultContract, Round = round, Weight = weight, MinPeers = minPeers, MakeMeAdmin = makeMeAdmin },
            PayloadJson.Default.ReadyPayload);

    /// <summary>A ready declaration that carries its submission: <paramref name="hash"/> and <paramref name="size"/>, either left out when null.</summary>
    public Transaction ReadyWith(SwarmIdentity id, long round, string? hash, long? size = 1000, int minPeers = 1) =>
        Tx(id, TransactionTypes.RoundReady, new ReadyPayload { Contract = LedgerDefaults.HpeDefaultContract, Round = round, Weight = 1, MinPeers = minPeers, ModelHash = hash, Size = size },
            PayloadJson.Default.ReadyPayload);

    public Transaction Submit(SwarmIdentity id, long round, string hash, string? contract = null) =>
        Tx(id, TransactionTypes.RoundSubmit, new SubmitPayload { Contract = contract ?? LedgerDefaults.HpeDefaultContract, Round = round, ModelHash = hash, Size = 1000 },
            PayloadJson.Default.SubmitPayload);

    public Transaction Merged(SwarmIdentity id, long round, string hash, IEnumerable<SwarmIdentity> contributors, string? contract = null, double momentum = 0) =>
        Tx(id, TransactionTypes.RoundMerged, new MergedPayload
        {
            Contract = contract ?? LedgerDefaults.HpeDefaultContract,
            Round = round,
            ModelHash = hash,
            Size = 1000,
            Contributors = contributors.Select(c => c.Fingerprint.ToString()).ToList(),
            MergeMethod = "mean",
            Momentum = momentum,
        }, PayloadJson.Default.MergedPayload);

    /// <summary>Registers SL nodes named sl1..slN, in one block.</summary>
    public List<SwarmIdentity> RegisterSl(int count, long? at = null)
    {
        var ids = Enumerable.Range(1, count).Select(i => Identity($"sl{i}", SwarmRole.Sl)).ToList();
        Apply(at ?? Time, [.. ids.Select(i => Register(i))]);
        return ids;
    }

    /// <summary>Cuts a block at <paramref name="time"/> holding <paramref name="transactions"/>, verifies it as a follower would, and moves on.</summary>
    public List<LedgerEvent> Apply(long time, params Transaction[] transactions)
    {
        var draft = State.Clone();
        var engine = new ContractEngine();
        var events = new List<LedgerEvent>();
        ContractEngine.BeginBlock(draft, State.Height + 1, time, events);
        foreach (var tx in transactions)
        {
            engine.VerifySignature(draft, tx);
            engine.Apply(draft, tx, events);
        }

        var block = Block.Create(Orderer, State.Height + 1, Head.Hash.Span, time, transactions, draft.ComputeHash());
        var (state, verified) = _verifier.Verify(State, Head.Hash.Span, block);
        State = state;
        Head = block;
        Events.AddRange(verified);
        return verified;
    }

    /// <summary>
    /// Applies one transaction as the orderer does and expects a refusal, which must leave the draft state exactly as
    /// it was (every rule validates before it changes anything). Returns the refusal.
    /// </summary>
    public TransactionRejectedException Refused(long time, Transaction tx)
    {
        var draft = State.Clone();
        var engine = new ContractEngine();
        var events = new List<LedgerEvent>();
        ContractEngine.BeginBlock(draft, State.Height + 1, time, events);
        var before = draft.ComputeHash();
        var e = Assert.Throws<TransactionRejectedException>(() =>
        {
            engine.VerifySignature(draft, tx);
            engine.Apply(draft, tx, events);
        });
        Assert.Equal(before, draft.ComputeHash());
        return e;
    }

    public TrainingContractState Contract(string? name = null) => State.Contracts[name ?? LedgerDefaults.HpeDefaultContract];

    public static string Hash(char c) => new(c, 64);

    public void Dispose()
    {
        foreach (var id in _identities.Values)
        {
            id.Dispose();
        }

        Ca.Dispose();
    }
}
