using System.Diagnostics;

namespace SwarmLearning.Cli.Demo;

/// <summary>
/// How to start this same <c>swarm</c> executable as a child process: the native launcher when the demo runs as one,
/// otherwise <c>dotnet swarm.dll</c> with the dotnet host that runs this process (the <c>./swarm</c> script, and tests,
/// which run the CLI inside a test host).
/// </summary>
internal sealed record SwarmExecutable(string FileName, IReadOnlyList<string> LeadingArguments)
{
    private const string TieredCompilationVariable = "DOTNET_TieredCompilation";

    /// <summary>The executable of the running CLI.</summary>
    public static SwarmExecutable Current()
    {
        var assembly = typeof(SwarmCli).Assembly.Location;
        if (string.IsNullOrEmpty(assembly))
        {
            throw new SwarmException("cannot tell where the swarm executable is (it runs as a single-file bundle); run the demo with ./swarm demo");
        }

        var process = Environment.ProcessPath;
        var processName = process is null ? null : Path.GetFileNameWithoutExtension(process);
        if (process is not null && processName == "swarm" && string.Equals(Path.GetDirectoryName(process), Path.GetDirectoryName(assembly), StringComparison.Ordinal))
        {
            return new SwarmExecutable(process, []);
        }

        var dotnet = process is not null && processName == "dotnet"
            ? process
            : Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host && File.Exists(host) ? host : "dotnet";
        return new SwarmExecutable(dotnet, [assembly]);
    }

    /// <summary>A start description for <c>swarm ARGS</c>: output redirected, no shell, none of the swarm's own variables inherited.</summary>
    public ProcessStartInfo StartInfo(IEnumerable<string> arguments)
    {
        var info = new ProcessStartInfo(FileName)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        var command = arguments.ToList();
        foreach (var a in LeadingArguments.Concat(command))
        {
            info.ArgumentList.Add(a);
        }

        // The children get their sockets and modes from their arguments: a SWARM_LOOPBACK=1 left in the user's shell
        // would make an ML program train alone, and a SWARM_SL_SOCKET would point it at another node.
        info.Environment.Remove("SWARM_LOOPBACK");
        info.Environment.Remove("SWARM_SL_SOCKET");
        info.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";

        // Nodes run without tiered compilation, as ./swarm starts them (docs/performance.md, "Tiered compilation"),
        // unless the user chose otherwise.
        if (command.FirstOrDefault() is "sl" or "sn"
            && Environment.GetEnvironmentVariable(TieredCompilationVariable) is null)
        {
            info.Environment[TieredCompilationVariable] = "0";
        }

        return info;
    }
}
