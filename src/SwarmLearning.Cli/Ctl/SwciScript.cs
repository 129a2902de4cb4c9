using System.Text.Json;

namespace SwarmLearning.Cli.Ctl;

/// <summary>
/// Runs SWCI statements from a script file or an interactive prompt, as HPE's SWCI does: each statement is echoed and
/// its result printed; a failing statement prints <c>error: FILE:LINE: …</c> and, with <c>EXIT ON FAILURE ON</c>,
/// ends the script. A script is parsed whole before anything runs, so a typo on line 40 does not leave lines 1–39
/// done. Exit code: 0 when every statement succeeded, 1 otherwise.
/// With <c>--json</c> each statement prints one JSON line: <c>{line, statement, ok, result | error}</c>.
/// </summary>
internal sealed class SwciScript(CtlRunner runner, TextWriter output, TextWriter error, bool json)
{
    private bool _exitOnFailure;
    private bool _failed;

    private sealed record JsonLine(string Source, int Line, string Statement, bool Ok, object? Result, string? Error);

    public async Task<int> RunFileAsync(string path, CancellationToken cancellationToken)
    {
        if (!File.Exists(path))
        {
            throw new SwarmException($"script {path} does not exist");
        }

        var lines = await File.ReadAllLinesAsync(path, cancellationToken).ConfigureAwait(false);
        var source = Path.GetFileName(path);
        var parsed = new List<(int Line, string Text, CtlStatement Statement)>();
        var syntaxErrors = new List<string>();
        for (var i = 0; i < lines.Length; i++)
        {
            try
            {
                if (SwciParser.Parse(lines[i], source, i + 1) is { } statement)
                {
                    parsed.Add((i + 1, lines[i].Trim(), statement));
                }
            }
            catch (SwciSyntaxException e)
            {
                syntaxErrors.Add(e.Message);
            }
        }

        if (syntaxErrors.Count > 0)
        {
            foreach (var e in syntaxErrors)
            {
                await error.WriteLineAsync($"error: {e}").ConfigureAwait(false);
            }

            await error.WriteLineAsync($"error: {path} has {syntaxErrors.Count} statement(s) that do not parse; nothing was run").ConfigureAwait(false);
            return SwarmCli.Failure;
        }

        foreach (var (line, text, statement) in parsed)
        {
            if (!await StepAsync(statement, source, line, text, cancellationToken).ConfigureAwait(false))
            {
                break;
            }
        }

        return _failed ? SwarmCli.Failure : SwarmCli.Success;
    }

    /// <summary>Reads statements from <paramref name="input"/> until EXIT or its end, prompting when <paramref name="prompt"/>, echoing each when <paramref name="echo"/>.</summary>
    public async Task<int> RunInteractiveAsync(TextReader input, bool prompt, bool echo, CancellationToken cancellationToken)
    {
        if (prompt)
        {
            await output.WriteLineAsync("SWCI statements, case-insensitive; HELP lists them, EXIT ends.").ConfigureAwait(false);
        }

        for (var line = 1; ; line++)
        {
            if (prompt)
            {
                await output.WriteAsync($"SWCI:{line} > ").ConfigureAwait(false);
                await output.FlushAsync(cancellationToken).ConfigureAwait(false);
            }

            var text = await input.ReadLineAsync(cancellationToken).ConfigureAwait(false);
            if (text is null)
            {
                break;
            }

            CtlStatement? statement;
            try
            {
                statement = SwciParser.Parse(text, "stdin", line);
            }
            catch (SwciSyntaxException e)
            {
                await FailAsync("stdin", line, text.Trim(), e.Message).ConfigureAwait(false);
                continue;
            }

            if (statement is not null && !await StepAsync(statement, "stdin", line, text.Trim(), cancellationToken, echo).ConfigureAwait(false))
            {
                break;
            }
        }

        return _failed ? SwarmCli.Failure : SwarmCli.Success;
    }

    /// <summary>Runs one statement; false when the script must end (EXIT, or a failure with EXIT ON FAILURE ON).</summary>
    private async Task<bool> StepAsync(CtlStatement statement, string source, int line, string text, CancellationToken cancellationToken, bool echo = true)
    {
        if (echo && !json)
        {
            await output.WriteLineAsync($"SWCI:{line} > {text}").ConfigureAwait(false);
        }

        switch (statement)
        {
            case Exit:
                return false;
            case ExitOnFailure s:
                _exitOnFailure = s.On;
                await WriteAsync(source, line, text, new MessageView("exit-on-failure", s.On ? "on" : "off"), $"exit on failure {(s.On ? "on" : "off")}").ConfigureAwait(false);
                return true;
        }

        try
        {
            var result = await runner.ExecuteAsync(statement, cancellationToken).ConfigureAwait(false);
            if (result.Failed)
            {
                await FailAsync(source, line, text, $"{source}:{line}: {result.Text}", result.Data).ConfigureAwait(false);
                return !_exitOnFailure;
            }

            await WriteAsync(source, line, text, result.Data, result.Text).ConfigureAwait(false);
            return true;
        }
        catch (SwarmException e)
        {
            await FailAsync(source, line, text, $"{source}:{line}: {e.Message}").ConfigureAwait(false);
            return !_exitOnFailure;
        }
    }

    private async Task WriteAsync(string source, int line, string text, object data, string human)
    {
        if (json)
        {
            await output.WriteLineAsync(JsonSerializer.Serialize(new JsonLine(source, line, text, true, data, null), CtlJson.Compact)).ConfigureAwait(false);
        }
        else if (human.Length > 0)
        {
            await output.WriteLineAsync(human).ConfigureAwait(false);
        }
    }

    private async Task FailAsync(string source, int line, string text, string message, object? data = null)
    {
        _failed = true;
        if (json)
        {
            await output.WriteLineAsync(JsonSerializer.Serialize(new JsonLine(source, line, text, false, data, message), CtlJson.Compact)).ConfigureAwait(false);
        }

        await error.WriteLineAsync($"error: {message}{(_exitOnFailure ? " (EXIT ON FAILURE is on: the script ends here)" : "")}").ConfigureAwait(false);
    }
}
