using System.Globalization;
using Spectre.Console;
using Spectre.Console.Rendering;

namespace SwarmLearning.Cli.Demo;

/// <summary>
/// The live view on a terminal (Spectre.Console, on standard error): per node its data, epochs as a progress bar, the
/// merged model's loss and accuracy, the round of the model it holds and what it does now (who leads the round), plus
/// the swarm's current round and the latest events. Redrawn every half second.
/// </summary>
internal sealed class LiveView : DemoView
{
    private const int BarWidth = 16;
    private const int ShownEvents = 5;
    private readonly IAnsiConsole _console = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(Console.Error) });

    protected override async Task RunAsync(DemoState state, CancellationToken stop)
    {
        var unicode = _console.Profile.Capabilities.Unicode;
        await _console.Live(Render(state, unicode))
            .AutoClear(false)
            .Overflow(VerticalOverflow.Ellipsis)
            .StartAsync(async context =>
            {
                bool more;
                do
                {
                    more = await TickAsync(stop).ConfigureAwait(false);
                    context.UpdateTarget(Render(state, unicode));
                    context.Refresh();
                }
                while (more);
            }).ConfigureAwait(false);
    }

    /// <summary>The picture of <paramref name="state"/> now.</summary>
    internal static IRenderable Render(DemoState state, bool unicode) => state.Read(s =>
    {
        var table = new Table().Border(unicode ? TableBorder.Rounded : TableBorder.Ascii);
        table.AddColumn("node");
        table.AddColumn(new TableColumn("samples").RightAligned());
        table.AddColumn("favours");
        table.AddColumn("epochs");
        table.AddColumn(new TableColumn("loss").RightAligned());
        table.AddColumn(new TableColumn("accuracy").RightAligned());
        table.AddColumn(new TableColumn("round").RightAligned());
        table.AddColumn("now");
        table.AddColumn(new TableColumn("local-only").RightAligned());
        foreach (var node in s.Nodes)
        {
            table.AddRow(
                new Markup($"[bold]{node.Name}[/]"),
                new Text(node.Samples.ToString("N0", CultureInfo.InvariantCulture)),
                new Text(string.Join(',', node.FavouredClasses)),
                new Markup(Bar(node, unicode)),
                new Text(node.Loss is { } loss ? loss.ToString("F4", CultureInfo.InvariantCulture) : "-"),
                new Text(node.Metric is { } metric ? Percent(metric) : "-"),
                new Text(node.Round > 0 ? node.Round.ToString(CultureInfo.InvariantCulture) : "-"),
                new Markup(Now(s, node, unicode)),
                new Text(node.LocalAccuracy is { } local ? Percent(local) : "-"));
        }

        var seconds = s.Clock.Elapsed.TotalSeconds.ToString("F1", CultureInfo.InvariantCulture);
        var header = new Markup($"[bold]SwarmLearning demo[/]  {Markup.Escape(s.Title)}  [grey]{seconds} s[/]");
        var phase = new Markup($"{Markup.Escape(s.Phase)}{Markup.Escape(RoundLine(s))}");
        var events = s.LatestEvents(ShownEvents).Select(e => (IRenderable)new Markup($"[grey]{Markup.Escape(e)}[/]"));
        var stop = s.Finished ? string.Empty : "   Ctrl+C stops every process";
        var logs = new Markup($"[grey]logs: {Markup.Escape(Path.Combine(s.Directory, "logs"))}{stop}[/]");
        return new Rows([header, phase, table, .. events, logs]);
    });

    /// <summary>The swarm's current round, as the ledger has it.</summary>
    private static string RoundLine(DemoState s)
    {
        if (s.Contract is not { } c)
        {
            return string.Empty;
        }

        var names = s.Nodes.ToDictionary(n => n.Fingerprint, n => n.Name, StringComparer.Ordinal);
        var current = c.Status == "completed"
            ? "training contract completed"
            : c.Phase == "closed"
                ? $"round {c.Round}: merging, led by {Name(names, c.Leader)}"
                : $"round {c.Round}: {c.Ready.Count}/{s.Nodes.Count} nodes ready";
        var merged = c.MergedRound is { } r ? $"; last merged: round {r} by {Name(names, c.MergedLeader)}" : string.Empty;
        return string.Create(CultureInfo.InvariantCulture, $"   ·   {current}{merged}");
    }

    private static string Name(Dictionary<string, string> names, string? fingerprint) =>
        fingerprint is not null && names.TryGetValue(fingerprint, out var name) ? name : "?";

    private static string Bar(NodeState node, bool unicode)
    {
        var fraction = node.Epochs > 0 ? node.EpochProgress / node.Epochs : 0;
        var filled = (int)Math.Round(fraction * BarWidth);
        var (on, off) = unicode ? ('█', '░') : ('#', '.');
        var colour = node.Stage is NodeStage.Done or NodeStage.Baseline or NodeStage.BaselineDone ? "green" : "blue";
        return string.Create(CultureInfo.InvariantCulture,
            $"[{colour}]{new string(on, filled)}[/][grey]{new string(off, BarWidth - filled)}[/] {node.EpochProgress:0.0}/{node.Epochs}");
    }

    private static string Now(DemoState s, NodeState node, bool unicode)
    {
        var c = s.Contract;
        var leads = c is { Phase: "closed" } && c.Leader == node.Fingerprint && node.Stage is not (NodeStage.Done or NodeStage.Baseline or NodeStage.BaselineDone);
        if (leads)
        {
            return string.Create(CultureInfo.InvariantCulture, $"[bold yellow]{(unicode ? "★ " : "* ")}leads round {c!.Round}[/]");
        }

        return node.Stage switch
        {
            NodeStage.Starting => "[grey]starting[/]",
            NodeStage.InitialSync => "initial sync",
            NodeStage.Training => "training",
            NodeStage.Syncing when c is { Phase: "collecting" } && c.Ready.Contains(node.Fingerprint) => $"ready for round {c.Round}",
            NodeStage.Syncing => "syncing",
            NodeStage.FinalMerge => "final merge: waiting for peers",
            NodeStage.Done => $"[green]{(unicode ? "✓ " : string.Empty)}final model[/]",
            NodeStage.Baseline => "[yellow]local-only training[/]",
            NodeStage.BaselineDone => "[green]done[/]",
            _ => string.Empty,
        };
    }

    private static string Percent(double value) => (value * 100).ToString("F2", CultureInfo.InvariantCulture) + " %";
}
