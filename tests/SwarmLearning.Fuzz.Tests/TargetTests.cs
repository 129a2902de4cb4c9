using SwarmLearning.Fuzz.Harness;
using SwarmLearning.Fuzz.Targets;
using SwarmLearning.Ledger.Blocks;
using SwarmLearning.Ledger.Transactions;
using SwarmLearning.Safetensors;

namespace SwarmLearning.Fuzz.Tests;

/// <summary>
/// The CI run of docs/fuzzing.md: every target for a fixed number of inputs from a fixed seed, with no finding allowed.
/// One class per target, so xUnit runs the three in parallel.
/// </summary>
internal static class CiRun
{
    public const ulong Seed = 20_260_611;

    public static void Check(string name, int inputs, LedgerCorpus? ledger)
    {
        var target = FuzzTargets.Create(name, ledger);
        try
        {
            var report = new FuzzRunner(target, new FuzzOptions { Seed = Seed, MaxInputs = inputs }).Run();
            var findings = string.Join(Environment.NewLine, report.Findings.Select(f => $"{f.Kind} at input {f.Index}: {f.Reason}"));
            Assert.True(report.Findings.Count == 0,
                $"{name}: {report.Findings.Count} findings (regenerate one with scripts/fuzz.sh --target {name} --seed {Seed} --start INDEX --inputs 1 --findings DIR):{Environment.NewLine}{findings}");
            Assert.Equal(inputs, report.Inputs);

            // Mutations must not only make garbage: some inputs get through the whole parse.
            Assert.True(report.Accepted > inputs / 500, $"{name}: only {report.Accepted} of {inputs} inputs were accepted");
            Assert.True(report.Refused > inputs / 2, $"{name}: only {report.Refused} of {inputs} inputs were refused");
        }
        finally
        {
            (target as IDisposable)?.Dispose();
        }
    }
}

/// <summary>One swarm per test class: making identities and blocks takes a moment.</summary>
public sealed class SwarmFixture : IDisposable
{
    internal LedgerCorpus Ledger { get; } = new();

    public void Dispose() => Ledger.Dispose();
}

public sealed class SafetensorsCiRunTests
{
    /// <summary>Inputs in the CI run; sized so the three CI runs take well under 20 s on a busy 2-core machine.</summary>
    public const int Inputs = 5_000;

    [Fact]
    public void A_fixed_seed_run_of_the_safetensors_target_has_no_findings() => CiRun.Check("safetensors", Inputs, null);
}

public sealed class TransactionCiRunTests(SwarmFixture swarm) : IClassFixture<SwarmFixture>
{
    public const int Inputs = 3_000;

    [Fact]
    public void A_fixed_seed_run_of_the_transaction_target_has_no_findings() => CiRun.Check("transaction", Inputs, swarm.Ledger);
}

public sealed class BlockCiRunTests(SwarmFixture swarm) : IClassFixture<SwarmFixture>
{
    public const int Inputs = 2_000;

    [Fact]
    public void A_fixed_seed_run_of_the_block_target_has_no_findings() => CiRun.Check("block", Inputs, swarm.Ledger);
}

/// <summary>The targets start from valid inputs, and a saved swarm loads back.</summary>
public sealed class TargetTests(SwarmFixture swarm) : IClassFixture<SwarmFixture>
{
    private readonly SwarmFixture _swarm = swarm;

    [Fact]
    public void Every_safetensors_corpus_file_opens_and_loads()
    {
        using var dir = new TempDirectory();
        var target = new SafetensorsTarget();
        for (var i = 0; i < target.Corpus.Count; i++)
        {
            var path = dir.File($"corpus-{i}.safetensors");
            File.WriteAllBytes(path, target.Corpus[i]);
            using var file = SafetensorsFile.Open(path);
            Assert.Equal(file.Tensors.Count, file.LoadModel().Tensors.Count);
        }

        var all = target.Corpus.Select(c => c.Length).ToList();
        Assert.True(all.Count >= 8 && all.Distinct().Count() == all.Count, "the corpus should hold several different files");
    }

    [Fact]
    public void The_ledger_corpus_has_a_valid_transaction_of_every_type_and_blocks_that_verify()
    {
        var ledger = _swarm.Ledger;
        Assert.Equal(TransactionTypes.All.Order(StringComparer.Ordinal), ledger.Transactions.Select(t => t.Type).Distinct().Order(StringComparer.Ordinal));
        foreach (var tx in ledger.Transactions)
        {
            Assert.Equal(tx.Id, Transaction.Decode(tx.Encoded.Span).Id);
        }

        Assert.Equal(4, ledger.Blocks.Count);
        Assert.All(ledger.Blocks, b => Assert.Equal(b.HashHex, Block.Decode(b.Encoded).HashHex));
    }

    [Fact]
    public void A_saved_swarm_loads_as_the_same_chain_so_saved_findings_replay_against_it()
    {
        using var dir = new TempDirectory();
        string chain;
        using (var first = new LedgerCorpus(dir.Path))
        {
            chain = Convert.ToHexString(first.State.ChainId.Span);
        }

        using var again = new LedgerCorpus(dir.Path);
        Assert.Equal(chain, Convert.ToHexString(again.State.ChainId.Span));
        Assert.Equal(4, again.States.Count);
    }
}
