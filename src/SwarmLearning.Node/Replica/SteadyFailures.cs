namespace SwarmLearning.Node.Replica;

/// <summary>
/// Counts consecutive failures of a retried operation and says when to log one: the first, then at most once per
/// interval, so a node that waits a long time for an SN writes a steady line instead of a flood.
/// </summary>
internal sealed class SteadyFailures(TimeProvider time, TimeSpan interval)
{
    private long _lastLogged;

    /// <summary>Failures in a row.</summary>
    public int Count { get; private set; }

    /// <summary>Records a failure; true when it should be logged.</summary>
    public bool Fail()
    {
        Count++;
        if (Count == 1 || time.GetElapsedTime(_lastLogged) >= interval)
        {
            _lastLogged = time.GetTimestamp();
            return true;
        }

        return false;
    }

    /// <summary>Records a success; returns how many failures it ends (0 when there were none).</summary>
    public int Succeed()
    {
        var ended = Count;
        Count = 0;
        return ended;
    }
}
