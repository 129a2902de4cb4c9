using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;
using Microsoft.Playwright;
using SwarmLearning.Cli.Tests.Ctl;

namespace SwarmLearning.Dashboard.Tests;

/// <summary>
/// The dashboard in a real browser (Debian's Chromium through Playwright) against a real local swarm: <c>swarm demo</c>
/// as a process (a sentinel SN, two SL nodes, two ML programs), whose printed dashboard address the test opens.
/// </summary>
public sealed partial class DashboardBrowserTests : IDisposable
{
    private const string Chromium = "/usr/bin/chromium";
    private static readonly TimeSpan Limit = TimeSpan.FromSeconds(60);

    private readonly string _directory = Path.Combine(Path.GetTempPath(), "swarm-dashboard-tests", Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        try
        {
            Directory.Delete(_directory, recursive: true);
        }
        catch (DirectoryNotFoundException)
        {
        }
    }

    [GeneratedRegex(@"Dashboard: (http://127\.0\.0\.1:\d+/)")]
    private static partial Regex DashboardLine();

    [Fact]
    public async Task The_dashboard_shows_a_training_swarm_live_and_verifies_its_ledger_without_console_errors()
    {
        Assert.True(File.Exists(Chromium), $"{Chromium} is missing: scripts/setup.sh installs Debian's chromium");
        var port = CtlSwarm.FreePort();
        using var demo = StartDemo(port);
        var lines = new List<string>();
        try
        {
            var address = await DashboardAddressAsync(demo, lines);
            Assert.Equal($"http://127.0.0.1:{port}/", address);

            using var playwright = await Playwright.CreateAsync();
            await using var browser = await playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
            {
                ExecutablePath = Chromium,
                Headless = true,
                Args = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"],
            });
            var page = await browser.NewPageAsync(new BrowserNewPageOptions { ViewportSize = new ViewportSize { Width = 1280, Height = 800 } });
            page.SetDefaultTimeout((float)Limit.TotalMilliseconds);

            // Expect's own timeout (5 s unless set) is not the page's: on a loaded machine an SL node can take longer
            // than that to register, and its row to appear, after the dashboard is live.
            Assertions.SetDefaultExpectTimeout((float)Limit.TotalMilliseconds);
            var errors = new List<string>();
            page.Console += (_, message) =>
            {
                if (message.Type == "error")
                {
                    lock (errors)
                    {
                        errors.Add($"console: {message.Text}");
                    }
                }
            };
            page.PageError += (_, error) =>
            {
                lock (errors)
                {
                    errors.Add($"page error: {error}");
                }
            };

            await page.GotoAsync(address);
            await Assertions.Expect(page.Locator("#live")).ToHaveTextAsync("live");

            // Nodes: the SN and both SL nodes, with their roles, reached by keyboard: the tabs move with the arrow keys.
            await page.Locator("#tab-training").FocusAsync();
            await page.Keyboard.PressAsync("ArrowRight");
            await Assertions.Expect(page.Locator("#tab-nodes")).ToHaveAttributeAsync("aria-selected", "true");
            await Assertions.Expect(page.Locator("#tab-nodes")).ToBeFocusedAsync();
            await page.Keyboard.PressAsync("Tab");
            await Assertions.Expect(page.Locator("#panel-nodes")).ToBeFocusedAsync();
            foreach (var (name, role) in new[] { ("sn0", "SN"), ("sl1", "SL"), ("sl2", "SL") })
            {
                await Assertions.Expect(page.Locator($"#nodes tr[data-node='{name}'] td").First).ToHaveTextAsync(role);
            }

            // Training: each ML node's epoch bar advances without a reload; the loss chart has points; rounds are listed.
            await page.Locator("#tab-training").ClickAsync();
            var bar = page.Locator("tr[data-node='sl1'] [role='progressbar']");
            await Assertions.Expect(bar).ToHaveAttributeAsync("aria-valuemax", "30");
            var first = await WaitForAsync(async () => int.Parse(await bar.GetAttributeAsync("aria-valuenow") ?? "0", CultureInfo.InvariantCulture), v => v >= 1);
            await Assertions.Expect(bar).ToHaveAttributeAsync("title", new Regex(@"^\d+ of 30 epochs completed$"));
            var later = await WaitForAsync(async () => int.Parse(await bar.GetAttributeAsync("aria-valuenow") ?? "0", CultureInfo.InvariantCulture), v => v > first);
            Assert.True(later > first);

            var points = page.Locator("svg[data-chart='loss'] circle.pt");
            await WaitForAsync(points.CountAsync, n => n >= 2);
            await Assertions.Expect(page.Locator("svg[data-chart='metric'] polyline").First).ToBeAttachedAsync();
            var merged = page.Locator("tr[data-round]", new PageLocatorOptions { HasText = "merged" }).First;
            await Assertions.Expect(merged).ToContainTextAsync("mean");
            await Assertions.Expect(merged).ToContainTextAsync("sl1, sl2");
            await Assertions.Expect(page.Locator("tr[data-node='sl1'] td").Nth(5)).Not.ToHaveTextAsync("–"); // an ETA once an epoch is done

            // The picture mid-training, for the record (TestResults/dashboard.png beside the tests).
            var screenshot = Path.Combine(AppContext.BaseDirectory, "TestResults", "dashboard.png");
            Directory.CreateDirectory(Path.GetDirectoryName(screenshot)!);
            await page.ScreenshotAsync(new PageScreenshotOptions { Path = screenshot, FullPage = false });
            Assert.True(new FileInfo(screenshot).Length > 10_000);

            // The ledger explorer: blocks, a block's transactions, and the chain verified from genesis.
            await page.Locator("#tab-ledger").ClickAsync();
            await WaitForAsync(page.Locator("#blocks tbody tr").CountAsync, n => n >= 2);
            await page.Locator("#blocks tbody tr button").First.ClickAsync();
            await Assertions.Expect(page.Locator("#block h3")).ToHaveTextAsync(new Regex(@"^Block \d+$"));
            await page.Locator("#verify").ClickAsync();
            await Assertions.Expect(page.Locator("#verify-result")).ToHaveClassAsync("valid");
            await Assertions.Expect(page.Locator("#verify-result")).ToContainTextAsync("valid:");

            await page.CloseAsync();
            lock (errors)
            {
                Assert.True(errors.Count == 0, string.Join('\n', errors));
            }
        }
        finally
        {
            await StopAsync(demo, lines);
        }
    }

    private Process StartDemo(int port)
    {
        var info = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in new[]
        {
            Path.Combine(AppContext.BaseDirectory, "swarm.dll"), "demo", "--nodes", "2", "--epochs", "30", "--limit", "600",
            "--dashboard-port", port.ToString(CultureInfo.InvariantCulture), "--dir", _directory,
        })
        {
            info.ArgumentList.Add(a);
        }

        return Process.Start(info)!;
    }

    /// <summary>Reads the demo's lines (not a terminal: one per event) until it prints the dashboard's address.</summary>
    private static async Task<string> DashboardAddressAsync(Process demo, List<string> lines)
    {
        _ = demo.StandardOutput.ReadToEndAsync();
        using var limit = new CancellationTokenSource(Limit);
        while (await demo.StandardError.ReadLineAsync(limit.Token) is { } line)
        {
            lines.Add(line);
            if (DashboardLine().Match(line) is { Success: true } match)
            {
                _ = Task.Run(async () =>
                {
                    while (await demo.StandardError.ReadLineAsync() is { } more)
                    {
                        lock (lines)
                        {
                            lines.Add(more);
                        }
                    }
                });
                return match.Groups[1].Value;
            }
        }

        Assert.Fail("swarm demo never printed its dashboard address:\n" + string.Join('\n', lines));
        return "";
    }

    /// <summary>Polls <paramref name="read"/> until <paramref name="done"/> holds, for at most a minute.</summary>
    private static async Task<T> WaitForAsync<T>(Func<Task<T>> read, Func<T, bool> done)
    {
        var clock = Stopwatch.StartNew();
        while (true)
        {
            var value = await read();
            if (done(value))
            {
                return value;
            }

            Assert.True(clock.Elapsed < Limit, $"still {value} after {Limit.TotalSeconds:0} s");
            await Task.Delay(200);
        }
    }

    /// <summary>Interrupts the demo (it stops every process it started) and waits for it; kills it if it does not stop.</summary>
    private static async Task StopAsync(Process demo, List<string> lines)
    {
        if (!demo.HasExited)
        {
            using (var kill = Process.Start("kill", ["-INT", demo.Id.ToString(CultureInfo.InvariantCulture)]))
            {
                await kill.WaitForExitAsync();
            }

            using var limit = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            try
            {
                await demo.WaitForExitAsync(limit.Token);
            }
            catch (OperationCanceledException)
            {
                demo.Kill(entireProcessTree: true);
                lock (lines)
                {
                    Assert.Fail("swarm demo did not stop on SIGINT:\n" + string.Join('\n', lines));
                }
            }
        }
    }
}
