using System.CommandLine;
using System.Reflection;
using SwarmLearning.Cli.Commands;

namespace SwarmLearning.Cli;

/// <summary>
/// The <c>swarm</c> command line. Exit codes: 0 success, 1 the operation failed (bad input, refused), 2 the command
/// line itself is wrong, 130 interrupted. Errors are one line on standard error naming what is at fault; a stack
/// trace appears only for internal errors, and only with <c>SWARM_DEBUG=1</c>.
/// </summary>
internal static class SwarmCli
{
    public const int Success = 0;
    public const int Failure = 1;
    public const int UsageError = 2;
    public const int Interrupted = 130;

    /// <summary>The version shown by <c>swarm --version</c>.</summary>
    public static string Version =>
        typeof(SwarmCli).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion.Split('+')[0]
        ?? "0.0.0";

    public static async Task<int> RunAsync(string[] args, TextWriter output, TextWriter error, CancellationToken cancellationToken = default)
    {
        var io = new CliIo(output, error);
        var root = BuildRoot(io);
        var parse = root.Parse(args);
        if (parse.Errors.Count > 0)
        {
            foreach (var e in parse.Errors)
            {
                await error.WriteLineAsync($"error: {e.Message}").ConfigureAwait(false);
            }

            var command = string.Join(' ', parse.CommandResult.Command.Name == root.Name ? ["swarm"] : ["swarm", .. CommandPath(parse.CommandResult.Command)]);
            await error.WriteLineAsync($"Run '{command} --help' for usage.").ConfigureAwait(false);
            return UsageError;
        }

        try
        {
            return await parse.InvokeAsync(new InvocationConfiguration { Output = output, Error = error }, cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            await error.WriteLineAsync("interrupted").ConfigureAwait(false);
            return Interrupted;
        }
    }

    internal static RootCommand BuildRoot(CliIo io)
    {
        var root = new RootCommand(
            "SwarmLearning: decentralized swarm learning. Sites train the same model on private data and merge what they learned each round, with no central server.");
        // The default --version reports the entry assembly, which is a test host when tests run the CLI in-process.
        root.Options.OfType<VersionOption>().Single().Action = new PrintVersion(io);
        root.Subcommands.Add(MergeCommand.Create(io));
        root.Subcommands.Add(ModelCommand.Create(io));
        root.Subcommands.Add(DataCommand.Create(io));
        root.Subcommands.Add(TrainCommand.Create(io));
        root.Subcommands.Add(SnCommand.Create(io));
        root.Subcommands.Add(SimulateCommand.Create(io));
        root.Subcommands.Add(SlCommand.Create(io));
        root.Subcommands.Add(OperatorCommand.Create(io));
        root.Subcommands.Add(CtlCommand.Create(io));
        root.Subcommands.Add(DemoCommand.Create(io));
        root.Subcommands.Add(CertsCommand.Create(io));
        return root;
    }

    private static Stack<string> CommandPath(Command command)
    {
        var names = new Stack<string>();
        for (Command? c = command; c is not null and not RootCommand; c = c.Parents.OfType<Command>().FirstOrDefault())
        {
            names.Push(c.Name);
        }

        return names;
    }

    private sealed class PrintVersion(CliIo io) : System.CommandLine.Invocation.SynchronousCommandLineAction
    {
        public override int Invoke(ParseResult parseResult)
        {
            io.Out.WriteLine(typeof(SwarmCli).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? Version);
            return Success;
        }
    }
}
