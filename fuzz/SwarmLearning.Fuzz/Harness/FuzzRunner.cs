using System.Diagnostics;

namespace SwarmLearning.Fuzz.Harness;

/// <summary>
/// Runs a target on generated inputs, one at a time on a worker thread, and checks each against the oracle: the parse
/// either succeeds or throws the target's documented exception (anything else is a crash); it finishes within
/// <see cref="FuzzOptions.InputTimeout"/> (a watchdog on the calling thread reports a hang and leaves the stuck worker
/// behind, since a .NET thread cannot be aborted); and it allocates at most
/// <see cref="FuzzOptions.AllocationBound"/> bytes on its thread.
/// </summary>
internal sealed class FuzzRunner
{
    private readonly IFuzzTarget _target;
    private readonly FuzzOptions _options;
    private readonly Lock _lock = new();
    private readonly Dictionary<string, Finding> _findings = new(StringComparer.Ordinal);
    private readonly List<Finding> _ordered = [];
    private long _findingInputs;
    private long _inputs;
    private long _accepted;
    private long _refused;
    private long _nextIndex;
    private long _slowestTicks;
    private double _maxAllocationOfBound;
    private long _maxAllocationIndex = -1;
    private long _maxAllocationBytes;
    private int _generation;
    private Exception? _harnessError;

    // What the worker is running now: read by the watchdog. Null between inputs.
    private volatile InFlight? _current;

    public FuzzRunner(IFuzzTarget target, FuzzOptions options)
    {
        _target = target;
        _options = options;
    }

    /// <summary>Runs until the input count or the duration is reached, too many findings are known, or <paramref name="cancellationToken"/> fires.</summary>
    public FuzzReport Run(CancellationToken cancellationToken = default)
    {
        WarmUp();
        _nextIndex = _options.StartIndex;
        var started = Stopwatch.GetTimestamp();
        var deadline = _options.Duration is { } d ? started + (long)(d.TotalSeconds * Stopwatch.Frequency) : long.MaxValue;
        var timeoutTicks = (long)(_options.InputTimeout.TotalSeconds * Stopwatch.Frequency);
        var abandoned = 0;
        var worker = StartWorker(deadline, cancellationToken);
        var lastProgress = started;
        while (!worker.Join(20))
        {
            var now = Stopwatch.GetTimestamp();
            if (_current is { } inFlight && inFlight.Generation == Volatile.Read(ref _generation) && now - inFlight.Started > timeoutTicks)
            {
                // A hang: report it, leave the worker (it may never return) and go on with a fresh one.
                Interlocked.Increment(ref _generation);
                Record(new Finding(_target.Name, FindingKind.Hang, _options.Seed, inFlight.Index, inFlight.Input,
                    $"no answer after {_options.InputTimeout.TotalSeconds:0.###} s (the bound per input)", "hang"));
                Interlocked.Increment(ref _inputs);
                if (++abandoned >= _options.MaxAbandonedWorkers)
                {
                    break;
                }

                _nextIndex = inFlight.Index + 1;
                _current = null;
                worker = StartWorker(deadline, cancellationToken);
            }

            if (_options.Progress is { } progress && now - lastProgress >= Stopwatch.Frequency)
            {
                lastProgress = now;
                progress(new FuzzProgress(_target.Name, Interlocked.Read(ref _inputs), Stopwatch.GetElapsedTime(started), DistinctFindings));
            }
        }

        // A finished run stops any worker still going (only an abandoned one can be).
        Interlocked.Increment(ref _generation);
        if (_harnessError is not null)
        {
            throw new InvalidOperationException($"the harness failed on target {_target.Name}: {_harnessError.Message}", _harnessError);
        }

        lock (_lock)
        {
            return new FuzzReport
            {
                Target = _target.Name,
                Seed = _options.Seed,
                Inputs = Interlocked.Read(ref _inputs),
                Accepted = Interlocked.Read(ref _accepted),
                Refused = Interlocked.Read(ref _refused),
                Elapsed = Stopwatch.GetElapsedTime(started),
                Findings = [.. _ordered],
                FindingInputs = _findingInputs,
                SlowestInputMilliseconds = _slowestTicks * 1000.0 / Stopwatch.Frequency,
                MaxAllocationOfBound = _maxAllocationOfBound,
                MaxAllocationIndex = _maxAllocationIndex,
                MaxAllocationBytes = _maxAllocationBytes,
            };
        }
    }

    /// <summary>Runs one input (a saved finding) under the same oracle; null when it passes.</summary>
    public Finding? Replay(byte[] input)
    {
        var outcome = Check(input, index: -1);
        return outcome.Finding;
    }

    private int DistinctFindings
    {
        get
        {
            lock (_lock)
            {
                return _ordered.Count;
            }
        }
    }

    private void WarmUp()
    {
        // Every corpus entry must pass the oracle (the targets' tests check that they parse; a contract rule may still
        // refuse one, such as a reset of a contract that is not complete). This also runs the code once, so type loading
        // and JIT allocations do not count against the first inputs.
        for (var i = 0; i < _target.Corpus.Count; i++)
        {
            try
            {
                _target.Execute(_target.Corpus[i]);
            }
            catch (Exception e)
            {
                if (_target.IsExpected(e))
                {
                    continue;
                }

                throw new InvalidOperationException($"corpus entry {i} of target {_target.Name} fails: {e.Message}", e);
            }
        }
    }

    private Thread StartWorker(long deadline, CancellationToken cancellationToken)
    {
        var generation = Volatile.Read(ref _generation);
        var thread = new Thread(() => Work(generation, deadline, cancellationToken))
        {
            IsBackground = true,
            Name = $"fuzz {_target.Name} #{generation}",
        };
        thread.Start();
        return thread;
    }

    private void Work(int generation, long deadline, CancellationToken cancellationToken)
    {
        var end = _options.MaxInputs is { } max ? _options.StartIndex + max : long.MaxValue;
        try
        {
            // Once more on this thread: buffers pooled per thread (ArrayPool's thread-local cache) are allocated on a
            // thread's first use, and that one-time megabyte must not count against the first input that needs it.
            foreach (var input in _target.Corpus)
            {
                try
                {
                    _target.Execute(input);
                }
                catch (Exception e) when (_target.IsExpected(e))
                {
                }
            }

            for (var index = _nextIndex; index < end; index++)
            {
                if (generation != Volatile.Read(ref _generation) || cancellationToken.IsCancellationRequested
                    || Stopwatch.GetTimestamp() > deadline || DistinctFindings >= _options.MaxDistinctFindings)
                {
                    return;
                }

                var input = _target.Generate(FuzzRandom.ForInput(_options.Seed, index));
                var inFlight = new InFlight(index, input, generation, Stopwatch.GetTimestamp());
                _current = inFlight;
                var outcome = Check(input, index);
                if (generation != Volatile.Read(ref _generation))
                {
                    // The watchdog gave up on this input and reported it; a late return changes nothing.
                    return;
                }

                _current = null;
                Interlocked.Increment(ref _inputs);
                if (outcome.Finding is { } finding)
                {
                    Record(finding);
                }
                else if (outcome.Accepted)
                {
                    Interlocked.Increment(ref _accepted);
                }
                else
                {
                    Interlocked.Increment(ref _refused);
                }
            }
        }
        catch (Exception e)
        {
            // Generate threw: a bug of the harness, not of the parser.
            _harnessError = e;
        }
    }

    private Outcome Check(byte[] input, long index)
    {
        var before = GC.GetAllocatedBytesForCurrentThread();
        var started = Stopwatch.GetTimestamp();
        Exception? thrown = null;
        try
        {
            _target.Execute(input);
        }
        catch (Exception e)
        {
            thrown = e;
        }

        var ticks = Stopwatch.GetTimestamp() - started;
        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        var bound = _options.AllocationBound(input.Length);
        lock (_lock)
        {
            _slowestTicks = Math.Max(_slowestTicks, ticks);
            if ((double)allocated / bound > _maxAllocationOfBound)
            {
                _maxAllocationOfBound = (double)allocated / bound;
                _maxAllocationIndex = index;
                _maxAllocationBytes = allocated;
            }
        }

        if (thrown is not null && !_target.IsExpected(thrown))
        {
            return new Outcome(false, new Finding(_target.Name, FindingKind.Crash, _options.Seed, index, input,
                $"{thrown.GetType().FullName} escaped the parser (not its documented refusal): {thrown}", Finding.SignatureOf(thrown)));
        }

        if (allocated > bound)
        {
            // Once more, to tell the input's own cost from a shared pool refilling a buffer it trimmed after a GC: that
            // happens once, while an input that allocates too much does it again.
            var again = AllocatedBy(input);
            if (again > bound)
            {
                return new Outcome(false, new Finding(_target.Name, FindingKind.Allocation, _options.Seed, index, input,
                    $"allocated {allocated:N0} bytes for a {input.Length:N0}-byte input, and {again:N0} when run again; the bound is {bound:N0} ({_options.AllocationFactor} × size + {_options.AllocationSlackBytes:N0})"
                    + (thrown is null ? "" : $"; it was then refused: {thrown.Message}"), "allocation"));
            }
        }

        if (ticks * 1.0 / Stopwatch.Frequency > _options.InputTimeout.TotalSeconds)
        {
            return new Outcome(false, new Finding(_target.Name, FindingKind.Hang, _options.Seed, index, input,
                $"took {ticks * 1.0 / Stopwatch.Frequency:0.###} s, more than the bound of {_options.InputTimeout.TotalSeconds:0.###} s per input", "hang"));
        }

        return new Outcome(thrown is null, null);
    }

    private long AllocatedBy(byte[] input)
    {
        var before = GC.GetAllocatedBytesForCurrentThread();
        try
        {
            _target.Execute(input);
        }
        catch (Exception e) when (_target.IsExpected(e))
        {
        }

        return GC.GetAllocatedBytesForCurrentThread() - before;
    }

    private void Record(Finding finding)
    {
        bool isNew;
        lock (_lock)
        {
            _findingInputs++;
            isNew = _findings.TryAdd(finding.Signature, finding);
            if (isNew)
            {
                _ordered.Add(finding);
            }
        }

        if (isNew && _options.FindingsDirectory is { } directory)
        {
            finding.WriteTo(directory);
        }
    }

    private sealed record InFlight(long Index, byte[] Input, int Generation, long Started);

    private readonly record struct Outcome(bool Accepted, Finding? Finding);
}
