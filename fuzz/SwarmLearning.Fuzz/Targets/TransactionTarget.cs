using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using SwarmLearning.Fuzz.Harness;
using SwarmLearning.Identity;
using SwarmLearning.Ledger.Contracts;
using SwarmLearning.Ledger.Serialization;
using SwarmLearning.Ledger.Transactions;

namespace SwarmLearning.Fuzz.Targets;

/// <summary>
/// The transaction decoder and what an SN does next with a decoded transaction from a client: the strict
/// <see cref="Transaction.Decode"/>, then the contract engine's signature check and <see cref="ContractEngine.Apply"/>
/// on a copy of a real swarm's state (which parses the payload with the strict <see cref="PayloadJson"/> deserializers
/// and checks every field), or, for a genesis transaction, <see cref="ContractEngine.CreateGenesisState"/>. The
/// documented refusals are <see cref="LedgerFormatException"/> and <see cref="TransactionRejectedException"/>.
/// </summary>
internal sealed class TransactionTarget : IFuzzTarget, IDisposable
{
    private static readonly string[] OddTypes =
    [
        "", "MEMBER.REGISTER", "member register", "member.register\0", "member.regist\u00e9r", new string('a', 64), new string('a', 65), "x",
        "round.ready.", "-", "unknown.type",
    ];

    private static readonly ushort[] TypeLengths = [0, 1, 63, 64, 65, 1024, 1025, ushort.MaxValue];

    private static readonly uint[] PayloadLengths = [0, 1, (1 << 20) - 1, 1 << 20, (1 << 20) + 1, 0x7FFF_FFFF, 0x8000_0000, uint.MaxValue];

    private readonly LedgerCorpus _ledger;
    private readonly bool _ownsLedger;
    private readonly ContractEngine _engine = new();

    public TransactionTarget(LedgerCorpus? ledger = null)
    {
        _ownsLedger = ledger is null;
        _ledger = ledger ?? new LedgerCorpus();
        Corpus = [.. _ledger.Transactions.Select(t => t.Encoded.ToArray())];
    }

    public string Name => "transaction";

    public IReadOnlyList<byte[]> Corpus { get; }

    public byte[] Generate(FuzzRandom random) => random.Next(10) switch
    {
        < 4 => ByteMutator.Mutate(random.Pick(Corpus), random, random.SmallCount(8), Corpus),
        < 9 => MutateStructure(_ledger, random).ToBytes(),
        _ => ByteMutator.Mutate(MutateStructure(_ledger, random).ToBytes(), random, random.SmallCount(4), Corpus),
    };

    public void Execute(byte[] input)
    {
        var tx = Transaction.Decode(input);
        _ = tx.ToString();
        var events = new List<LedgerEvent>();
        if (tx.Type == TransactionTypes.Genesis)
        {
            ContractEngine.CreateGenesisState(tx, LedgerCorpus.T0, events);
            return;
        }

        var draft = _ledger.State.Clone();
        try
        {
            _engine.VerifySignature(draft, tx);
        }
        catch (TransactionRejectedException)
        {
            // Most mutated transactions no longer verify; apply them anyway, so the payload parsing and the contract
            // rules see every input (an SN never applies them, but a hostile sender controls both anyway).
        }

        _engine.Apply(draft, tx, events);
    }

    public bool IsExpected(Exception exception) => exception is LedgerFormatException or TransactionRejectedException;

    public void Dispose()
    {
        if (_ownsLedger)
        {
            _ledger.Dispose();
        }
    }

    /// <summary>A corpus transaction with field-level mutations; shared with the block target.</summary>
    public static TransactionParts MutateStructure(LedgerCorpus ledger, FuzzRandom random)
    {
        var original = random.Pick(ledger.Transactions);
        var parts = TransactionParts.From(original);
        var resign = random.OneIn(2);
        var count = random.SmallCount(3);
        for (var i = 0; i < count; i++)
        {
            switch (random.Next(13))
            {
                case 12:
                    MutateCertificate(ledger, parts, random);
                    break;
                case < 5:
                    parts.Payload = JsonMutator.Mutate(parts.Payload, random);
                    break;
                case 5:
                    // Another type's payload under this type, or a type that is not one.
                    parts.Type = Encoding.UTF8.GetBytes(random.OneIn(3) ? random.Pick(OddTypes) : random.Pick(TransactionTypes.All));
                    break;
                case 6:
                    parts.TypeLength = random.OneIn(2) ? random.Pick(TypeLengths) : (ushort)(parts.Type.Length + random.Next(-2, 3));
                    break;
                case 7:
                    parts.PayloadLength = random.OneIn(2) ? random.Pick(PayloadLengths) : (uint)(parts.Payload.Length + random.Next(-2, 3));
                    break;
                case 8:
                    parts.Sequence = random.Choose(0UL, 1UL, 2UL, ulong.MaxValue, ulong.MaxValue - 1, (ulong)long.MaxValue + 1);
                    break;
                case 9:
                    {
                        // Another member as sender (the payload's rules then apply to someone else), or a stranger.
                        var others = ledger.Transactions.Select(t => t.Sender).Distinct().ToList();
                        parts.Sender = random.OneIn(4) ? new byte[32] : TransactionParts.Bytes(random.Pick(others));
                        break;
                    }

                case 10:
                    switch (random.Next(5))
                    {
                        case 0: parts.Version = (byte)random.Choose(0, 2, 255); break;
                        case 1: parts.ChainId = new byte[random.OneIn(2) ? 32 : random.Next(0, 40)]; break;
                        case 2: parts.Signature = parts.Signature[..random.Next(parts.Signature.Length)]; resign = false; break;
                        case 3: parts.Trailer = new byte[random.Next(1, 8)]; break;
                        default: parts.Magic = "SLBK"u8.ToArray(); break;
                    }

                    break;
                default:
                    // A payload at or over the size limit.
                    parts.Payload = [.. parts.Payload, .. Encoding.UTF8.GetBytes(new string(' ', random.Choose((1 << 20) - 200, (1 << 20) + 1, 65_536)))];
                    break;
            }
        }

        if (resign && ledger.IdentityOf(Fingerprint.Read(parts.Sender)) is { } sender && parts.Signature.Length == 64)
        {
            parts.Sign(sender);
        }

        return parts;
    }

    /// <summary>
    /// A mutated certificate in a registration or a genesis (the orderer's, or a CA's), with the sender set to the
    /// mutated certificate's fingerprint as a hostile sender would, so the certificate reaches the X.509 decoder.
    /// </summary>
    private static void MutateCertificate(LedgerCorpus ledger, TransactionParts parts, FuzzRandom random)
    {
        try
        {
            MutateCertificateCore(ledger, parts, random);
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException or FormatException or ArgumentException)
        {
            // An earlier mutation left a payload of another shape: keep it as it is.
        }
    }

    private static void MutateCertificateCore(LedgerCorpus ledger, TransactionParts parts, FuzzRandom random)
    {
        var root = JsonNode.Parse(parts.Payload);

        var holder = root?["orderer"] as JsonObject ?? root as JsonObject;
        if (root is null || holder?["certificate"] is null)
        {
            // Not a registration or a genesis: make it a registration of a stranger.
            parts.Type = Encoding.UTF8.GetBytes(TransactionTypes.Register);
            root = JsonNode.Parse(JsonSerializer.SerializeToUtf8Bytes(new RegisterPayload
            {
                Role = "sl",
                Name = "sl3",
                Certificate = Convert.ToBase64String(ledger.Sl3.Certificate.RawData),
            }, PayloadJson.Default.RegisterPayload))!;
            holder = (JsonObject)root;
        }

        var authorities = root["authorities"] as JsonArray;
        if (authorities is { Count: > 0 } && random.OneIn(2))
        {
            var ca = Convert.FromBase64String(authorities[0]!.GetValue<string>());
            authorities[0] = Convert.ToBase64String(ByteMutator.Mutate(ca, random, random.SmallCount(4)));
        }
        else
        {
            var der = Convert.FromBase64String(holder!["certificate"]!.GetValue<string>());
            var mutated = random.OneIn(8) ? new byte[random.Next(0, 64)] : ByteMutator.Mutate(der, random, random.SmallCount(4));
            holder["certificate"] = Convert.ToBase64String(mutated);
            parts.Sender = TransactionParts.Bytes(Fingerprint.Of(mutated));
        }

        parts.Payload = Encoding.UTF8.GetBytes(root.ToJsonString());
    }
}
