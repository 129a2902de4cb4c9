using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using SwarmLearning.Identity;
using SwarmLearning.Ledger.Blocks;
using SwarmLearning.Ledger.Chain;
using SwarmLearning.Ledger.Contracts;
using SwarmLearning.Ledger.Transactions;

namespace SwarmLearning.Fuzz.Targets;

/// <summary>
/// A small real swarm made in code: a CA, a sentinel, an administrator, SL nodes and an operator; the genesis block
/// and two verified blocks (registrations, joins, a task); the state after each; and one signed transaction of every
/// type, valid against the latest state where the rules allow. The keys are kept so mutated inputs can be re-signed.
/// </summary>
internal sealed class LedgerCorpus : IDisposable
{
    public const long T0 = 1_800_000_000_000;

    private readonly Dictionary<Fingerprint, SwarmIdentity> _identities = [];
    private readonly Dictionary<Fingerprint, ulong> _sequences = [];
    private readonly SwarmIdentity _renewal;

    /// <summary>
    /// Makes the swarm, or loads it from <paramref name="directory"/> when an earlier run saved one there (and saves a
    /// new one there otherwise): keys and signatures are random, so a saved finding replays the same way only against
    /// the same swarm.
    /// </summary>
    public LedgerCorpus(string? directory = null)
    {
        var saved = directory is not null && File.Exists(Path.Combine(directory, "ca.crt"));
        Ca = saved
            ? CertificateAuthority.Load(Path.Combine(directory!, "ca.crt"), Path.Combine(directory!, "ca.key"))
            : CertificateAuthority.Create("fuzz", TimeSpan.FromDays(3650), DateTimeOffset.FromUnixTimeMilliseconds(T0 - 86_400_000));
        SwarmIdentity Identity(SwarmRole role, string name) => Track(saved
            ? SwarmIdentity.Load(Path.Combine(directory!, name + ".crt"), Path.Combine(directory!, name + ".key"))
            : Ca.Issue(role, name, ["localhost"], TimeSpan.FromDays(365), DateTimeOffset.FromUnixTimeMilliseconds(T0 - 3_600_000)));
        Sentinel = Identity(SwarmRole.Sn, "sn0");
        Admin = Identity(SwarmRole.Swci, "swci1");
        Sl1 = Identity(SwarmRole.Sl, "sl1");
        Sl2 = Identity(SwarmRole.Sl, "sl2");
        Sl3 = Identity(SwarmRole.Sl, "sl3");
        Swop = Identity(SwarmRole.Swop, "swop1");

        if (saved)
        {
            LoadBlocks(directory!);
        }
        else
        {
            BuildBlocks();
            if (directory is not null)
            {
                Save(directory);
            }
        }

        foreach (var (member, sequence) in States[^1].Sequences)
        {
            _sequences[member] = sequence;
        }

        // sl1's renewed certificate, for the member.rotate seed: made afresh each run and not saved (it has sl1's name,
        // which names sl1's files), so the rotation's proof is only valid against this run's swarm, like any signature.
        _renewal = Ca.Issue(SwarmRole.Sl, "sl1", ["localhost"], TimeSpan.FromDays(365), DateTimeOffset.FromUnixTimeMilliseconds(T0 - 3_600_000));
        var hash = new string('a', 64);
        var round = State.Contracts[LedgerDefaults.HpeDefaultContract].Round.Number;
        Transactions =
        [
            Blocks[0].Transactions[0],
            Tx(Admin, TransactionTypes.Enrol, new EnrolPayload { Fingerprint = new string('b', 64), Role = "sl", Name = "sl4", Note = "fuzz" }, PayloadJson.Default.EnrolPayload),
            Register(Sl3, 30307),
            Tx(Sl1, TransactionTypes.Heartbeat, new EmptyPayload(), PayloadJson.Default.EmptyPayload),
            Tx(Admin, TransactionTypes.Revoke, new RevokePayload { Member = Sl2.Fingerprint.ToString(), Reason = "fuzz" }, PayloadJson.Default.RevokePayload),
            Tx(Admin, TransactionTypes.ContractCreate, new NamePayload { Name = "fuzz.contract" }, PayloadJson.Default.NamePayload),
            Tx(Admin, TransactionTypes.ContractReset, new NamePayload { Name = LedgerDefaults.HpeDefaultContract }, PayloadJson.Default.NamePayload),
            Tx(Sl1, TransactionTypes.RoundReady, new ReadyPayload { Contract = LedgerDefaults.HpeDefaultContract, Round = round, Weight = 1.5, MinPeers = 2 }, PayloadJson.Default.ReadyPayload),
            Tx(Sl2, TransactionTypes.RoundSubmit, new SubmitPayload { Contract = LedgerDefaults.HpeDefaultContract, Round = round, ModelHash = hash, Size = 1000 }, PayloadJson.Default.SubmitPayload),
            Tx(Sl1, TransactionTypes.RoundMerged, new MergedPayload
            {
                Contract = LedgerDefaults.HpeDefaultContract,
                Round = round,
                ModelHash = hash,
                Size = 1000,
                Contributors = [Sl1.Fingerprint.ToString(), Sl2.Fingerprint.ToString()],
                MergeMethod = "mean",
            }, PayloadJson.Default.MergedPayload),
            Tx(Sl2, TransactionTypes.TrainingJoin, new ContractPayload { Contract = "fuzz.contract" }, PayloadJson.Default.ContractPayload),
            Tx(Sl1, TransactionTypes.Progress, new ProgressPayload { Contract = LedgerDefaults.HpeDefaultContract, Loss = 0.25, Metric = 0.9, EpochsDone = 1, TotalEpochs = 5 }, PayloadJson.Default.ProgressPayload),
            Tx(Sl2, TransactionTypes.TrainingEnd, new TrainingEndPayload { Contract = LedgerDefaults.HpeDefaultContract, Mode = "snapshot", Weight = 2 }, PayloadJson.Default.TrainingEndPayload),
            Tx(Admin, TransactionTypes.TaskCreate, Task("another"), PayloadJson.Default.TaskPayload),
            Tx(Admin, TransactionTypes.TaskFinalize, new NamePayload { Name = "draft" }, PayloadJson.Default.NamePayload),
            Tx(Admin, TransactionTypes.TaskDelete, new NamePayload { Name = "draft" }, PayloadJson.Default.NamePayload),
            Tx(Admin, TransactionTypes.TaskRunnerCreate, new NamePayload { Name = "runner2" }, PayloadJson.Default.NamePayload),
            Tx(Admin, TransactionTypes.TaskRunnerAssign, new AssignPayload { Runner = LedgerDefaults.HpeDefaultTaskRunner, Task = "train", Peers = 1 }, PayloadJson.Default.AssignPayload),
            Tx(Admin, TransactionTypes.TaskRunnerAssign, new AssignPayload { Runner = LedgerDefaults.HpeDefaultTaskRunner, Task = "train", Target = Swop.Fingerprint.ToString() }, PayloadJson.Default.AssignPayload),
            Tx(Swop, TransactionTypes.TaskRunnerReport, new TaskReportPayload { Runner = LedgerDefaults.HpeDefaultTaskRunner, State = "running", Message = "pulling" }, PayloadJson.Default.TaskReportPayload),
            Tx(Admin, TransactionTypes.TaskRunnerReset, new NamePayload { Name = LedgerDefaults.HpeDefaultTaskRunner }, PayloadJson.Default.NamePayload),
            Tx(Sl1, TransactionTypes.Rotate, RotationProof.CreatePayload(Sl1, _renewal, State.ChainId.Span, "fuzz"), PayloadJson.Default.RotatePayload),
        ];
    }

    public CertificateAuthority Ca { get; }

    public SwarmIdentity Sentinel { get; }

    public SwarmIdentity Admin { get; }

    public SwarmIdentity Sl1 { get; }

    public SwarmIdentity Sl2 { get; }

    public SwarmIdentity Sl3 { get; }

    public SwarmIdentity Swop { get; }

    /// <summary>Blocks 0 (genesis) to 3, each verified.</summary>
    public List<Block> Blocks { get; } = [];

    /// <summary>The state after each block of <see cref="Blocks"/>.</summary>
    public List<LedgerState> States { get; } = [];

    /// <summary>The state the transaction corpus was made for: after block 2.</summary>
    public LedgerState State => States[2];

    /// <summary>One signed transaction of every type (two of taskrunner.assign), genesis first.</summary>
    public IReadOnlyList<Transaction> Transactions { get; }

    /// <summary>The identity with this fingerprint, to re-sign a mutated input; null for a stranger.</summary>
    public SwarmIdentity? IdentityOf(Fingerprint fingerprint) => _identities.GetValueOrDefault(fingerprint);

    public void Dispose()
    {
        foreach (var id in _identities.Values)
        {
            id.Dispose();
        }

        _renewal.Dispose();
        Ca.Dispose();
    }

    private SwarmIdentity Track(SwarmIdentity id)
    {
        _identities[id.Fingerprint] = id;
        return id;
    }

    private void BuildBlocks()
    {
        var genesis = Genesis.Create(Sentinel, "fuzz", [Ca.Certificate], [Admin.Fingerprint], new LedgerDefaults(), "localhost", 30304, 30303,
            DateTimeOffset.FromUnixTimeMilliseconds(T0),
            [.. new[] { Sl1, Sl2, Sl3, Swop }.Select(id => new EnrolPayload { Fingerprint = id.Fingerprint.ToString(), Role = SwarmRoles.ToName(id.Role), Name = id.Name })]);
        var (state, _) = ChainVerifier.VerifyGenesis(genesis, null);
        Blocks.Add(genesis);
        States.Add(state);
        _sequences[Sentinel.Fingerprint] = genesis.Transactions[0].Sequence;

        Append(T0 + 1000, [Register(Admin), Register(Sl1, 30305), Register(Sl2, 30306), Register(Swop)]);
        Append(T0 + 2000,
        [
            Tx(Sl1, TransactionTypes.TrainingJoin, new ContractPayload { Contract = LedgerDefaults.HpeDefaultContract }, PayloadJson.Default.ContractPayload),
            Tx(Sl2, TransactionTypes.TrainingJoin, new ContractPayload { Contract = LedgerDefaults.HpeDefaultContract }, PayloadJson.Default.ContractPayload),
            Tx(Admin, TransactionTypes.TaskCreate, Task("train"), PayloadJson.Default.TaskPayload),
            Tx(Admin, TransactionTypes.TaskCreate, Task("draft"), PayloadJson.Default.TaskPayload),
            Tx(Admin, TransactionTypes.TaskFinalize, new NamePayload { Name = "train" }, PayloadJson.Default.NamePayload),
            Tx(Swop, TransactionTypes.Heartbeat, new EmptyPayload(), PayloadJson.Default.EmptyPayload),
        ]);

        // A block of heartbeats, so the block corpus has a block that verifies against the latest state.
        Append(T0 + 3000,
        [
            Tx(Sl1, TransactionTypes.Heartbeat, new EmptyPayload(), PayloadJson.Default.EmptyPayload),
            Tx(Sl2, TransactionTypes.Heartbeat, new EmptyPayload(), PayloadJson.Default.EmptyPayload),
        ]);
    }

    private void LoadBlocks(string directory)
    {
        var verifier = new ChainVerifier();
        for (var height = 0; File.Exists(BlockPath(directory, height)); height++)
        {
            var block = Block.Decode(File.ReadAllBytes(BlockPath(directory, height)));
            var (state, _) = height == 0 ? ChainVerifier.VerifyGenesis(block, null) : verifier.Verify(States[^1], Blocks[^1].Hash.Span, block);
            Blocks.Add(block);
            States.Add(state);
        }

        if (Blocks.Count < 3)
        {
            throw new InvalidOperationException($"{directory} holds {Blocks.Count} blocks of the fuzz swarm; delete the directory to make a new swarm");
        }
    }

    private void Save(string directory)
    {
        Directory.CreateDirectory(directory);
        Ca.Save(Path.Combine(directory, "ca.crt"), Path.Combine(directory, "ca.key"));
        foreach (var id in _identities.Values)
        {
            id.Save(Path.Combine(directory, id.Name + ".crt"), Path.Combine(directory, id.Name + ".key"));
        }

        for (var height = 0; height < Blocks.Count; height++)
        {
            File.WriteAllBytes(BlockPath(directory, height), Blocks[height].Encoded.ToArray());
        }
    }

    private static string BlockPath(string directory, int height) => Path.Combine(directory, $"block-{height}.bin");

    private Transaction Tx<T>(SwarmIdentity sender, string type, T payload, JsonTypeInfo<T> json)
    {
        var sequence = _sequences.GetValueOrDefault(sender.Fingerprint) + 1;
        _sequences[sender.Fingerprint] = sequence;
        return Transaction.Create(sender, States[0].ChainId.Span, type, sequence, JsonSerializer.SerializeToUtf8Bytes(payload, json));
    }

    private Transaction Register(SwarmIdentity id, int? filePort = null) =>
        Tx(id, TransactionTypes.Register, new RegisterPayload
        {
            Role = SwarmRoles.ToName(id.Role),
            Name = id.Name,
            Certificate = Convert.ToBase64String(id.Certificate.RawData),
            Host = "localhost",
            FilePort = filePort,
        }, PayloadJson.Default.RegisterPayload);

    private static TaskPayload Task(string name) => new()
    {
        Name = name,
        TaskType = "RUN_SWARM",
        Author = "fuzz",
        Prereq = "ROOTTASK",
        Outcome = "model",
        Body = JsonDocument.Parse("""{"Command":"model/train.py","Entrypoint":"python3","WorkingDir":"/tmp","Envvars":[{"EPOCHS":"5"}],"PrivateContent":"/tmp"}""").RootElement,
    };

    private void Append(long time, Transaction[] transactions)
    {
        var verifier = new ChainVerifier();
        var previous = States[^1];
        var draft = previous.Clone();
        var engine = new ContractEngine();
        var events = new List<LedgerEvent>();
        ContractEngine.BeginBlock(draft, previous.Height + 1, time, events);
        foreach (var tx in transactions)
        {
            engine.VerifySignature(draft, tx);
            engine.Apply(draft, tx, events);
        }

        var block = Block.Create(Sentinel, previous.Height + 1, Blocks[^1].Hash.Span, time, transactions, draft.ComputeHash());
        var (state, _) = verifier.Verify(previous, Blocks[^1].Hash.Span, block);
        Blocks.Add(block);
        States.Add(state);
    }
}
