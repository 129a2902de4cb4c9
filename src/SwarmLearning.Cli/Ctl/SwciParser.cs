using System.Globalization;
using System.Text;
using SwarmLearning.Network;

namespace SwarmLearning.Cli.Ctl;

/// <summary>A statement that does not parse, with where it is: <c>FILE:LINE: message</c>.</summary>
internal sealed class SwciSyntaxException(string source, int line, string message)
    : SwarmException($"{source}:{line}: {message}")
{
    public string Script { get; } = source;

    public int Line { get; } = line;
}

/// <summary>
/// Parses HPE's SWCI statements (case-insensitive keywords, names kept as written; <c>#</c> starts a comment line;
/// arguments may be quoted). The grammar is a table of patterns: KEYWORDS, <c>&lt;required&gt;</c> and trailing
/// <c>[optional]</c> arguments. It is also what <c>HELP</c> prints.
/// </summary>
internal static class SwciParser
{
    private const int DefaultWaitRetries = 360;

    private sealed record Pattern(string Syntax, string Summary, Func<Args, CtlStatement> Build)
    {
        public string[] Tokens { get; } = Syntax.Split(' ');

        public int Keywords { get; } = Syntax.Split(' ').TakeWhile(t => !t.StartsWith('<') && !t.StartsWith('[')).Count();
    }

    private sealed class Args(Dictionary<string, string> values)
    {
        public string this[string name] => values[name];

        public string? Optional(string name) => values.GetValueOrDefault(name);

        public int Int(string name, int min, int max, int? fallback = null)
        {
            if (!values.TryGetValue(name, out var text))
            {
                return fallback ?? throw new FormatException($"<{name}> is missing");
            }

            return int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var value) && value >= min && value <= max
                ? value
                : throw new FormatException($"<{name}> '{text}' must be a whole number from {min} to {max}");
        }
    }

    private static readonly Pattern[] Patterns =
    [
        new("CREATE CONTEXT <name> WITH IP <host> [port]", "create a context for the SN whose API is at host (port 30304 by default)",
            a => new CreateContext(a["name"], ContextStore.NormalizeAddress(a["host"], a.Optional("port") is null ? null : a.Int("port", 1, 65535)))),
        new("CREATE CONTEXT <name> WITH SERVICE <address>", "create a context for the SN API at host[:port]",
            a => new CreateContext(a["name"], ContextStore.NormalizeAddress(a["address"]))),
        new("SWITCH CONTEXT <name>", "make a context the active one", a => new SwitchContext(a["name"])),
        new("GET CONTEXT INFO [name]", "show a context (the active one by default)", a => new GetContextInfo(a.Optional("name"))),
        new("GET CONTEXT VERSION", "show the SN's status and version", _ => new GetContextVersion()),
        new("LIST CONTEXTS", "list the contexts", _ => new ListContexts()),
        new("DELETE CONTEXT <name>", "forget a context", a => new DeleteContext(a["name"])),
        new("CREATE CONTRACT <name>", "create a training contract", a => new CreateContract(a["name"])),
        new("GET CONTRACT INFO <name>", "show a training contract", a => new GetContractStatus(a["name"])),
        new("GET CONTRACT STATUS <name>", "show a training contract's status and round", a => new GetContractStatus(a["name"])),
        new("LIST CONTRACTS", "list the training contracts", _ => new ListContracts()),
        new("RESET CONTRACT <name>", "take a completed contract back to its start", a => new ResetContract(a["name"])),
        new("PERFDATA <name>", "loss, metric and epochs of each ML node of a contract", a => new GetPerfData(a["name"])),
        new("GET CONTRACT PERFDATA <name>", "the same as PERFDATA", a => new GetPerfData(a["name"])),
        new("CREATE TASK FROM <file>", "create a task from its YAML definition", a => new CreateTaskFrom(a["file"])),
        new("FINALIZE TASK <name>", "freeze a task so it can be assigned", a => new FinalizeTask(a["name"])),
        new("DELETE TASK <name>", "delete a task that is not finalized", a => new DeleteTask(a["name"])),
        new("GET TASK INFO <name>", "show a task", a => new GetTask(a["name"], BodyOnly: false)),
        new("GET TASK BODY <name>", "show a task's body", a => new GetTask(a["name"], BodyOnly: true)),
        new("LIST TASKS", "list the tasks", _ => new ListTasks()),
        new("CREATE TASKRUNNER <name>", "create a task runner", a => new CreateTaskRunner(a["name"])),
        new("GET TASKRUNNER INFO <name>", "show a task runner", a => new GetTaskRunnerStatus(a["name"])),
        new("GET TASKRUNNER STATUS <name>", "show a task runner's task and its peers' states", a => new GetTaskRunnerStatus(a["name"])),
        new("GET TASKRUNNER PEER STATUS <name> <peer>", "one operator's report (by index, name or fingerprint)", a => new GetTaskRunnerPeers(a["name"], a["peer"])),
        new("LIST TASKRUNNER PEERS <name>", "the operators that reported on a task runner", a => new GetTaskRunnerPeers(a["name"], null)),
        new("LIST TASKRUNNERS", "list the task runners", _ => new ListTaskRunners()),
        new("RESET TASKRUNNER <name>", "make a finished task runner idle again (an idle one stays idle)", a => new ResetTaskRunner(a["name"])),
        new("ASSIGN TASK <task> TO <runner> WITH ALL PEERS", "run a task on every active operator", a => new AssignTask(a["task"], a["runner"], 0, All: true, null)),
        new("ASSIGN TASK <task> TO <runner> WITH <n> PEERS", "run a task until n operators completed it", a => new AssignTask(a["task"], a["runner"], a.Int("n", 1, 100_000), All: false, null)),
        new("ASSIGN TASK <task> TO <runner> TARGET <swop>", "run a task on one operator (name or fingerprint)", a => new AssignTask(a["task"], a["runner"], 0, All: false, a["swop"])),
        new("WAIT FOR TASKRUNNER <name> [seconds]", "wait until a task runner's task completed or failed (120 min at most by default)",
            a => new WaitForTaskRunner(a["name"], a.Optional("seconds") is null ? null : TimeSpan.FromSeconds(a.Int("seconds", 1, 7 * 24 * 3600)))),
        new("WAIT FOR IP <host> [port] [retries]", "wait until host:port (30304) accepts connections, trying every 5 s (360 times)",
            a => new WaitForAddress(a["host"], a.Int("port", 1, 65535, SwarmNetworkOptions.DefaultApiPort), a.Int("retries", 1, 1_000_000, DefaultWaitRetries))),
        new("WAIT FOR SERVICE <address> [retries]", "wait until host[:port] accepts connections",
            a => ParseService(a["address"], a.Int("retries", 1, 1_000_000, DefaultWaitRetries))),
        new("LIST NODES", "list the swarm's nodes: role, host, ports, identity, last heartbeat", _ => new ListNodes()),
        new("SHOW BLOCKS [from] [count]", "show blocks from a height (the last 20 by default)",
            a => new ShowBlocks(a.Optional("from") is null ? -1 : a.Int("from", 0, int.MaxValue), a.Int("count", 1, 1000, 20))),
        new("SHOW BLOCK <height>", "show one block with its transactions", a => new ShowBlock(a.Int("height", 0, int.MaxValue))),
        new("VERIFY LEDGER [dir]", "verify the SN's whole chain (or a ledger directory) and report", a => new VerifyLedger(a.Optional("dir"))),
        new("SLEEP <seconds>", "pause", a => new Sleep(a.Int("seconds", 0, 24 * 3600))),
        new("EXIT ON FAILURE [mode]", "ON: stop the script at the first failing statement; OFF (default): go on", a => ParseOnOff(a.Optional("mode"))),
        new("EXIT", "end the script or prompt", _ => new Exit()),
        new("CD <dir>", "change the directory relative paths start from", a => new ChangeDirectory(a["dir"])),
        new("LS [dir]", "list a directory", a => new ListDirectory(a.Optional("dir"))),
        new("PWD", "print the directory relative paths start from", _ => new PrintDirectory()),
        new("HELP [statement]", "list the statements, or those starting with a word", a => new Help(a.Optional("statement"))),
    ];

    /// <summary>Parses one line; null for a blank or comment line.</summary>
    public static CtlStatement? Parse(string line, string source = "statement", int lineNumber = 1)
    {
        List<string> tokens;
        try
        {
            tokens = Tokenize(line);
        }
        catch (FormatException e)
        {
            throw new SwciSyntaxException(source, lineNumber, e.Message);
        }

        if (tokens.Count == 0)
        {
            return null;
        }

        Pattern? closest = null;
        foreach (var pattern in Patterns)
        {
            var keywordsMatch = KeywordsMatch(pattern, tokens);
            if (keywordsMatch < pattern.Keywords)
            {
                continue;
            }

            closest ??= pattern;
            if (TryBind(pattern, tokens, out var args))
            {
                try
                {
                    return pattern.Build(args);
                }
                catch (Exception e) when (e is FormatException or SwarmException)
                {
                    throw new SwciSyntaxException(source, lineNumber, $"{e.Message}; usage: {pattern.Syntax}");
                }
            }
        }

        var written = string.Join(' ', tokens);
        if (closest is not null)
        {
            var usages = Patterns.Where(p => KeywordsMatch(p, tokens) >= p.Keywords).Select(p => p.Syntax);
            throw new SwciSyntaxException(source, lineNumber, $"'{written}' does not fit {string.Join(" or ", usages)}");
        }

        throw new SwciSyntaxException(source, lineNumber, $"unknown statement '{written}'; HELP lists the statements");
    }

    /// <summary>The statements, one per line with what they do; those starting with <paramref name="topic"/> only, when given.</summary>
    public static IReadOnlyList<(string Syntax, string Summary)> Statements(string? topic) =>
        [.. Patterns.Where(p => topic is null || p.Syntax.StartsWith(topic, StringComparison.OrdinalIgnoreCase)).Select(p => (p.Syntax, p.Summary))];

    private static int KeywordsMatch(Pattern pattern, List<string> tokens)
    {
        var n = 0;
        while (n < pattern.Keywords && n < tokens.Count && string.Equals(pattern.Tokens[n], tokens[n], StringComparison.OrdinalIgnoreCase))
        {
            n++;
        }

        return n;
    }

    private static bool TryBind(Pattern pattern, List<string> tokens, out Args args)
    {
        var values = new Dictionary<string, string>(StringComparer.Ordinal);
        args = new Args(values);
        var i = 0;
        foreach (var p in pattern.Tokens)
        {
            if (p.StartsWith('['))
            {
                if (i < tokens.Count)
                {
                    values[p[1..^1]] = tokens[i++];
                }

                continue;
            }

            if (i >= tokens.Count)
            {
                return false;
            }

            if (p.StartsWith('<'))
            {
                values[p[1..^1]] = tokens[i++];
            }
            else if (!string.Equals(p, tokens[i++], StringComparison.OrdinalIgnoreCase))
            {
                return false;
            }
        }

        return i == tokens.Count;
    }

    private static ExitOnFailure ParseOnOff(string? mode) => mode?.ToUpperInvariant() switch
    {
        null or "ON" or "TRUE" => new ExitOnFailure(true),
        "OFF" or "FALSE" => new ExitOnFailure(false),
        _ => throw new FormatException($"<mode> '{mode}' must be ON or OFF"),
    };

    private static WaitForAddress ParseService(string address, int retries)
    {
        var normalized = ContextStore.NormalizeAddress(address);
        return SwarmNetworkOptions.TryParseHostPort(normalized, out var host, out var port)
            ? new WaitForAddress(host, port, retries)
            : throw new FormatException($"'{address}' is not HOST[:PORT]");
    }

    /// <summary>Splits on white space; double or single quotes keep spaces inside an argument.</summary>
    internal static List<string> Tokenize(string line)
    {
        var trimmed = line.Trim();
        if (trimmed.Length == 0 || trimmed.StartsWith('#'))
        {
            return [];
        }

        var tokens = new List<string>();
        var current = new StringBuilder();
        char? quote = null;
        var inToken = false;
        foreach (var c in trimmed)
        {
            if (quote is { } q)
            {
                if (c == q)
                {
                    quote = null;
                }
                else
                {
                    current.Append(c);
                }
            }
            else if (c is '"' or '\'')
            {
                quote = c;
                inToken = true;
            }
            else if (char.IsWhiteSpace(c))
            {
                if (inToken)
                {
                    tokens.Add(current.ToString());
                    current.Clear();
                    inToken = false;
                }
            }
            else
            {
                current.Append(c);
                inToken = true;
            }
        }

        if (quote is not null)
        {
            throw new FormatException($"a quote ({quote}) is not closed");
        }

        if (inToken)
        {
            tokens.Add(current.ToString());
        }

        return tokens;
    }
}
