using System.Net.Sockets;

namespace SwarmLearning.Cli.Ctl;

// The statements of HPE's script mode that do not touch the ledger: WAIT FOR IP, SLEEP, CD, LS.
internal sealed partial class CtlRunner
{
    private async Task<CtlResult> WaitForAddressAsync(WaitForAddress s, CancellationToken cancellationToken)
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                using var client = new TcpClient();
                using var connect = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
                connect.CancelAfter(Options.AddressRetryInterval);
                await client.ConnectAsync(s.Host, s.Port, connect.Token).ConfigureAwait(false);
                return new CtlResult(new MessageView("wait.ip", $"{s.Host}:{s.Port}"), $"{s.Host}:{s.Port} accepts connections (try {attempt})");
            }
            catch (Exception e) when (e is SocketException or OperationCanceledException && !cancellationToken.IsCancellationRequested)
            {
                if (attempt >= s.Retries)
                {
                    throw new SwarmException(
                        $"{s.Host}:{s.Port} did not accept a connection in {s.Retries} tries {Options.AddressRetryInterval.TotalSeconds:0} s apart ({e.Message}); check that the SN runs and the address", e);
                }

                if (attempt == 1 || attempt % 12 == 0)
                {
                    await Options.Progress.WriteLineAsync($"waiting for {s.Host}:{s.Port} to accept connections (try {attempt} of {s.Retries}): {e.Message}").ConfigureAwait(false);
                }

                await Task.Delay(Options.AddressRetryInterval, cancellationToken).ConfigureAwait(false);
            }
        }
    }

    private static async Task<CtlResult> SleepAsync(Sleep s, CancellationToken cancellationToken)
    {
        await Task.Delay(TimeSpan.FromSeconds(s.Seconds), cancellationToken).ConfigureAwait(false);
        return new CtlResult(new MessageView("sleep", $"{s.Seconds} s"), $"slept {s.Seconds} s");
    }

    private CtlResult ChangeDirectory(ChangeDirectory s)
    {
        var path = Resolve(s.Path);
        if (!Directory.Exists(path))
        {
            throw new SwarmException($"CD: {path} is not a directory");
        }

        WorkingDirectory = path;
        return new CtlResult(new MessageView("cd", path), path);
    }

    private CtlResult ListDirectory(ListDirectory s)
    {
        var path = Resolve(s.Path ?? ".");
        if (!Directory.Exists(path))
        {
            throw new SwarmException($"LS: {path} is not a directory");
        }

        var entries = Directory.EnumerateFileSystemEntries(path)
            .Select(e => Directory.Exists(e) ? Path.GetFileName(e) + "/" : Path.GetFileName(e))
            .Order(StringComparer.Ordinal).ToList();
        return new CtlResult(entries, string.Join('\n', entries));
    }
}
