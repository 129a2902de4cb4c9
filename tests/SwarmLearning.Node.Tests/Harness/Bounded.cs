namespace SwarmLearning.Node.Tests.Harness;

/// <summary>Bounded waits that say what did not happen.</summary>
internal static class Bounded
{
    /// <summary>Generous: three SL processes and a test host share a small machine with other work.</summary>
    public static readonly TimeSpan Patience = TimeSpan.FromMinutes(2);

    public static async Task<T> WithinAsync<T>(Task<T> task, string what)
    {
        try
        {
            return await task.WaitAsync(Patience);
        }
        catch (TimeoutException)
        {
            Assert.Fail($"timed out after {Patience.TotalSeconds} s waiting for {what}");
            throw;
        }
    }
}
