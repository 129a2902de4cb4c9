using System.Globalization;
using Microsoft.Extensions.Logging;
using SwarmLearning.Ledger.Transactions;
using SwarmLearning.Operator.Execution;
using SwarmLearning.Operator.Profile;
using SwarmLearning.Operator.Tasks;

namespace SwarmLearning.Operator.Content;

/// <summary>
/// MAKE_SWARM_USER_CONTENT: runs the OpsList in order. BUILDCONTENT makes one copy, in the operator's
/// <c>WORKDIR/volumes</c>; SWARMCONTENT one per profile node, in <c>WORKDIR/nodes/NAME/volumes</c>. A RUN_SWARM
/// SharedContent of MType VOLUME and Src X finds the node's copy of X first, then the operator's (docs/operator.md).
/// DOWNLOAD fetches a file path, a file:// URI or an http(s):// URL to <c>Out</c> (default: the target's file name);
/// EXTRACT unpacks a .tar, .tar.gz or .zip (a path under the content directory, any path, or a URL) into <c>Out</c>
/// (default: the content directory itself). <c>Out</c> is relative to the content directory and cannot leave it.
/// </summary>
internal sealed class UserContentExecution : ITaskExecution
{
    private static readonly HttpClient Http = new() { Timeout = TimeSpan.FromMinutes(10) };
    private readonly CancellationTokenSource _stop = new();
    private int _disposed;

    private UserContentExecution(OperatorProfile profile, UserContentBody body, ILogger logger)
    {
        var roots = body.ContentType == "SWARMCONTENT"
            ? profile.Nodes.Select(n => Path.Combine(profile.WorkDirectory, "nodes", n.Name, "volumes")).ToList()
            : [Path.Combine(profile.WorkDirectory, "volumes")];
        Started = $"{body.ContentType}: {body.Operations.Count} operation(s) into {string.Join(", ", roots)}";
        Outcome = RunAsync(profile, body, roots, logger, _stop.Token);
    }

    public string Started { get; }

    public IReadOnlyList<TaskPeerReport>? Peers => null;

    public Task<TaskOutcome> Outcome { get; }

    public static ITaskExecution Start(OperatorProfile profile, UserContentBody body, ILogger logger) => new UserContentExecution(profile, body, logger);

    private static async Task<TaskOutcome> RunAsync(OperatorProfile profile, UserContentBody body, List<string> roots, ILogger logger, CancellationToken cancellationToken)
    {
        await Task.Yield();
        var done = new List<string>();
        foreach (var root in roots)
        {
            Directory.CreateDirectory(root);
            foreach (var op in body.Operations)
            {
                try
                {
                    var what = op.Operation == "DOWNLOAD"
                        ? await DownloadAsync(profile, op, root, cancellationToken).ConfigureAwait(false)
                        : await ExtractAsync(profile, op, root, cancellationToken).ConfigureAwait(false);
                    Log.Content(logger, what);
                    done.Add(what);
                }
                catch (OperationCanceledException)
                {
                    return TaskOutcome.Failed($"{op.Path} ({op.Operation} {op.Target}) was stopped before it ended");
                }
                catch (Exception e) when (e is SwarmException or IOException or UnauthorizedAccessException or HttpRequestException or UriFormatException)
                {
                    return TaskOutcome.Failed(Limit($"{op.Path} ({op.Operation} {op.Target}) failed: {e.Message}"));
                }
            }
        }

        return TaskOutcome.Completed(Limit(string.Join("; ", done)));
    }

    private static async Task<string> DownloadAsync(OperatorProfile profile, ContentOperation op, string root, CancellationToken cancellationToken)
    {
        var name = op.Out ?? Path.GetFileName(new Uri(Absolute(profile, op.Target)).LocalPath);
        if (string.IsNullOrEmpty(name))
        {
            throw new SwarmException($"cannot tell a file name from {op.Target}; give Options: [{{Out: NAME}}]");
        }

        var target = Under(root, name, op);
        Directory.CreateDirectory(Path.GetDirectoryName(target)!);
        var bytes = await FetchAsync(profile, op.Target, target, cancellationToken).ConfigureAwait(false);
        return string.Create(CultureInfo.InvariantCulture, $"downloaded {op.Target} to {target} ({bytes} bytes)");
    }

    private static async Task<string> ExtractAsync(OperatorProfile profile, ContentOperation op, string root, CancellationToken cancellationToken)
    {
        var destination = Under(root, op.Out ?? ".", op);
        string archive;
        string? temporary = null;
        if (IsUrl(op.Target))
        {
            temporary = Path.Combine(root, ".download-" + Guid.NewGuid().ToString("N") + "-" + Path.GetFileName(new Uri(op.Target).LocalPath));
            await FetchAsync(profile, op.Target, temporary, cancellationToken).ConfigureAwait(false);
            archive = temporary;
        }
        else if (op.Target.StartsWith("file://", StringComparison.OrdinalIgnoreCase))
        {
            archive = new Uri(op.Target).LocalPath;
            if (!File.Exists(archive))
            {
                throw new SwarmException($"there is no archive {archive}");
            }
        }
        else
        {
            // A relative target is first looked for among the content (what a DOWNLOAD before it fetched).
            var inRoot = Path.GetFullPath(op.Target, root);
            archive = File.Exists(inRoot) ? inRoot : Path.GetFullPath(op.Target, profile.WorkDirectory);
            if (!File.Exists(archive))
            {
                throw new SwarmException($"there is no archive {op.Target} (looked for {inRoot} and {archive})");
            }
        }

        try
        {
            var count = await ArchiveExtractor.ExtractAsync(archive, destination, cancellationToken).ConfigureAwait(false);
            return string.Create(CultureInfo.InvariantCulture, $"extracted {op.Target} into {destination} ({count} files)");
        }
        finally
        {
            if (temporary is not null)
            {
                File.Delete(temporary);
            }
        }
    }

    private static async Task<long> FetchAsync(OperatorProfile profile, string source, string target, CancellationToken cancellationToken)
    {
        var output = new FileStream(target, FileMode.Create, FileAccess.Write, FileShare.None);
        await using (output.ConfigureAwait(false))
        {
            if (source.StartsWith("http://", StringComparison.OrdinalIgnoreCase) || source.StartsWith("https://", StringComparison.OrdinalIgnoreCase))
            {
                using var response = await Http.GetAsync(new Uri(source), HttpCompletionOption.ResponseHeadersRead, cancellationToken).ConfigureAwait(false);
                if (!response.IsSuccessStatusCode)
                {
                    throw new SwarmException(string.Create(CultureInfo.InvariantCulture, $"{source} answered {(int)response.StatusCode} {response.ReasonPhrase}"));
                }

                await response.Content.CopyToAsync(output, cancellationToken).ConfigureAwait(false);
            }
            else
            {
                var path = new Uri(Absolute(profile, source)).LocalPath;
                if (!File.Exists(path))
                {
                    throw new SwarmException($"there is no file {path}");
                }

                var input = File.OpenRead(path);
                await using (input.ConfigureAwait(false))
                {
                    await input.CopyToAsync(output, cancellationToken).ConfigureAwait(false);
                }
            }

            return output.Length;
        }
    }

    /// <summary>A URL as is; a path resolved against the work directory, as a file:// URI.</summary>
    private static string Absolute(OperatorProfile profile, string target) =>
        IsUrl(target) || target.StartsWith("file://", StringComparison.OrdinalIgnoreCase) ? target : new Uri(Path.GetFullPath(target, profile.WorkDirectory)).AbsoluteUri;

    private static bool IsUrl(string target) =>
        target.StartsWith("http://", StringComparison.OrdinalIgnoreCase) || target.StartsWith("https://", StringComparison.OrdinalIgnoreCase);

    private static string Under(string root, string relative, ContentOperation op)
    {
        var full = Path.GetFullPath(Path.Combine(root, relative));
        if (Path.IsPathRooted(relative) || (full != root && !full.StartsWith(root + Path.DirectorySeparatorChar, StringComparison.Ordinal)))
        {
            throw new SwarmException($"{op.Path}.Options.Out '{relative}' is outside the content directory {root}; give a relative path inside it");
        }

        return full;
    }

    private static string Limit(string message) => message.Length <= 1000 ? message : message[..1000] + "…";

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        await _stop.CancelAsync().ConfigureAwait(false);
        try
        {
#pragma warning disable VSTHRD003 // this execution's own work, started in its constructor
            await Outcome.ConfigureAwait(false);
#pragma warning restore VSTHRD003
        }
        finally
        {
            _stop.Dispose();
        }
    }
}
