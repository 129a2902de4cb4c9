using System.Diagnostics;
using SwarmLearning.Fuzz.Harness;

namespace SwarmLearning.Fuzz.Tests;

/// <summary>
/// The harness must catch each kind of finding: stub parsers that are wrong in one known way on some inputs are run
/// through it, and each must be reported with its input, saved, and found again on replay.
/// </summary>
public sealed class FuzzRunnerTests
{
    [Fact]
    public void An_undocumented_exception_is_a_crash_saved_with_its_input_and_found_again_on_replay()
    {
        using var dir = new TempDirectory();
        var target = new StubTarget(input =>
        {
            if (input.Contains((byte)0x7F))
            {
                // A read past the end, as a parser that trusts a length field makes it.
                _ = input[input.Length + input[0]];
            }

            throw new FormatException("stub: not valid");
        });
        var report = new FuzzRunner(target, new FuzzOptions { MaxInputs = 3000, FindingsDirectory = dir.Path }).Run();

        var crash = Assert.Single(report.Findings);
        Assert.Equal(FindingKind.Crash, crash.Kind);
        Assert.Contains("IndexOutOfRangeException", crash.Signature, StringComparison.Ordinal);
        Assert.Contains((byte)0x7F, crash.Input);
        Assert.True(report.FindingInputs >= 1);
        Assert.Equal(report.Inputs, report.Refused + report.FindingInputs);

        // The saved input replays to the same finding; the reason file says how to regenerate it.
        var saved = File.ReadAllBytes(Path.Combine(dir.Path, crash.FileStem + ".bin"));
        Assert.Equal(crash.Input, saved);
        Assert.Contains("IndexOutOfRangeException", File.ReadAllText(Path.Combine(dir.Path, crash.FileStem + ".txt")), StringComparison.Ordinal);
        Assert.Equal(FindingKind.Crash, new FuzzRunner(target, new FuzzOptions()).Replay(saved)?.Kind);
        Assert.Null(new FuzzRunner(target, new FuzzOptions()).Replay([1, 2, 3, 4]));
    }

    [Fact]
    public void An_input_that_does_not_return_is_a_hang_and_the_run_goes_on_without_it()
    {
        using var release = new ManualResetEventSlim();
        var target = new StubTarget(input =>
        {
            if (input.Contains((byte)0xFF))
            {
                release.Wait();
            }
        });
        var watch = Stopwatch.StartNew();
        var report = new FuzzRunner(target, new FuzzOptions { MaxInputs = 20_000, InputTimeout = TimeSpan.FromMilliseconds(300), MaxAbandonedWorkers = 2 }).Run();
        release.Set();

        var hang = Assert.Single(report.Findings);
        Assert.Equal(FindingKind.Hang, hang.Kind);
        Assert.Contains((byte)0xFF, hang.Input);
        Assert.True(report.FindingInputs >= 2, $"{report.FindingInputs} hangs: the run should go on after the first one with a new worker");
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(60), $"the run took {watch.Elapsed}; a hung input must not hold it");
    }

    [Fact]
    public void An_input_that_returns_too_late_is_a_hang_too()
    {
        var target = new StubTarget(input =>
        {
            if (input.Contains((byte)0x80))
            {
                Thread.Sleep(400);
            }
        });
        var report = new FuzzRunner(target, new FuzzOptions { MaxInputs = 3000, InputTimeout = TimeSpan.FromMilliseconds(200), MaxDistinctFindings = 1 }).Run();
        Assert.Equal(FindingKind.Hang, Assert.Single(report.Findings).Kind);
    }

    [Fact]
    public void Allocating_more_than_the_bound_for_the_input_size_is_a_finding()
    {
        var options = new FuzzOptions { MaxInputs = 1000 };
        var target = new StubTarget(input =>
        {
            // Within the bound for every input; past it when the input holds a zero byte.
            var bytes = input.Contains((byte)0x00) ? options.AllocationBound(input.Length) + 4096 : options.AllocationBound(input.Length) / 2;
            GC.KeepAlive(new byte[bytes]);
        });
        var report = new FuzzRunner(target, options).Run();

        var finding = Assert.Single(report.Findings);
        Assert.Equal(FindingKind.Allocation, finding.Kind);
        Assert.Contains((byte)0x00, finding.Input);
        Assert.Contains("the bound is", finding.Reason, StringComparison.Ordinal);
        Assert.True(report.MaxAllocationOfBound > 0.4, $"peak {report.MaxAllocationOfBound:P0} of the bound: the harness must see allocations below the bound too");
    }

    [Fact]
    public void A_parser_that_parses_or_refuses_every_input_has_no_findings_and_every_input_is_counted()
    {
        var target = new StubTarget(input =>
        {
            if (input.Length % 2 == 0)
            {
                throw new FormatException("stub: odd inputs only");
            }
        });
        var report = new FuzzRunner(target, new FuzzOptions { MaxInputs = 5000 }).Run();
        Assert.Empty(report.Findings);
        Assert.Equal(5000, report.Inputs);
        Assert.Equal(report.Inputs, report.Accepted + report.Refused);
        Assert.True(report.Accepted > 0 && report.Refused > 0);
    }

    [Fact]
    public void A_corpus_entry_the_parser_fails_on_stops_the_run_before_it_starts()
    {
        var target = new StubTarget(_ => throw new InvalidOperationException("stub"));
        var e = Assert.Throws<InvalidOperationException>(() => new FuzzRunner(target, new FuzzOptions { MaxInputs = 10 }).Run());
        Assert.Contains("corpus entry 0", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void The_same_seed_makes_the_same_inputs_and_another_seed_others()
    {
        var target = new StubTarget(_ => { });
        static List<byte[]> Inputs(IFuzzTarget t, ulong seed) => [.. Enumerable.Range(0, 200).Select(i => t.Generate(FuzzRandom.ForInput(seed, i)))];
        var a = Inputs(target, 7);
        var b = Inputs(target, 7);
        var c = Inputs(target, 8);
        Assert.Equal(a, b);
        Assert.NotEqual(a, c);
        Assert.True(a.Distinct(new BytesComparer()).Count() > 150, "mutations should rarely repeat");
    }

    private sealed class StubTarget(Action<byte[]> parse) : IFuzzTarget
    {
        public string Name => "stub";

        public IReadOnlyList<byte[]> Corpus { get; } = [[1, 2, 3, 4, 5, 6, 7, 8], [.. "{\"a\":[1,2,3]}"u8]];

        public byte[] Generate(FuzzRandom random) => ByteMutator.Mutate(random.Pick(Corpus), random, random.SmallCount(8), Corpus);

        public void Execute(byte[] input) => parse(input);

        public bool IsExpected(Exception exception) => exception is FormatException;
    }

    private sealed class BytesComparer : IEqualityComparer<byte[]>
    {
        public bool Equals(byte[]? x, byte[]? y) => x.AsSpan().SequenceEqual(y);

        public int GetHashCode(byte[] obj)
        {
            var hash = new HashCode();
            hash.AddBytes(obj);
            return hash.ToHashCode();
        }
    }
}
