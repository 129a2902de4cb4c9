using System.Diagnostics;
using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using SwarmLearning.Identity;

namespace SwarmLearning.Benchmarks.Round;

/// <summary>
/// The transfer lower bound's throughput: a plain Kestrel HTTPS server on loopback (TLS 1.2/1.3 and client
/// certificates exactly as the SL file server sets them up, <see cref="SwarmTls"/>) serving a byte array of the
/// model's size from memory, downloaded with <see cref="HttpClient"/> into a reused buffer. No disk, no hashing, no
/// parsing: what moving the bytes over TLS on this machine costs, and nothing else.
/// </summary>
internal static class TransferBound
{
    /// <summary>
    /// Downloads go on past <c>repeats</c> until they add up to this much time (a 4 MB download takes a few
    /// milliseconds, and the best of three such is mostly scheduling luck), up to <see cref="MaxRepeats"/>.
    /// </summary>
    public static readonly TimeSpan MinMeasuredTime = TimeSpan.FromSeconds(0.5);

    /// <summary>The most downloads a measurement makes.</summary>
    public const int MaxRepeats = 50;

    /// <summary>
    /// The best throughput (bytes/s) of at least <paramref name="repeats"/> downloads of <paramref name="size"/> bytes
    /// (more for small sizes: <see cref="MinMeasuredTime"/>), after one warm-up, and the CPU seconds per byte the
    /// downloads cost both sides together (this process is server and client).
    /// </summary>
    public static async Task<(double BytesPerSecond, double CpuSecondsPerByte)> MeasureAsync(long size, int repeats, CancellationToken cancellationToken)
    {
        using var ca = CertificateAuthority.Create("bound", TimeSpan.FromDays(1));
        var trust = new SwarmTrust([ca.Certificate]);
        using var server = ca.Issue(SwarmRole.Sl, "server", ["localhost", "127.0.0.1"], TimeSpan.FromDays(1));
        using var client = ca.Issue(SwarmRole.Sl, "client", ["localhost"], TimeSpan.FromDays(1));
        var payload = new byte[size];
        Random.Shared.NextBytes(payload.AsSpan(0, (int)Math.Min(size, 1 << 20)));

        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, 0, l => l.UseHttps(h => SwarmTls.ConfigureServer(h, server, trust))));
        var app = builder.Build();
        app.MapGet("/model", async (HttpContext context) =>
        {
            context.Response.ContentType = "application/octet-stream";
            context.Response.ContentLength = payload.LongLength;
            await context.Response.Body.WriteAsync(payload, context.RequestAborted).ConfigureAwait(false);
        });
        await app.StartAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var port = new Uri(app.Urls.First()).Port;
            using var http = new HttpClient(SwarmTls.CreateClientHandler(client, trust, SwarmRole.Sl), disposeHandler: true) { Timeout = TimeSpan.FromMinutes(5) };
            var uri = new Uri($"https://localhost:{port}/model");
            var buffer = new byte[1 << 16];
            var best = 0.0;
            var cpuStart = 0.0;
            var measured = 0.0;
            var downloads = 0;
            for (var i = 0; i <= repeats || (measured < MinMeasuredTime.TotalSeconds && i <= MaxRepeats); i++)
            {
                if (i == 1)
                {
                    cpuStart = RoundSwarm.DriverCpuSeconds();
                }

                var started = Stopwatch.GetTimestamp();
                using var response = await http.GetAsync(uri, HttpCompletionOption.ResponseHeadersRead, cancellationToken).ConfigureAwait(false);
                response.EnsureSuccessStatusCode();
                var body = await response.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
                long received = 0;
                await using (body.ConfigureAwait(false))
                {
                    int read;
                    while ((read = await body.ReadAsync(buffer, cancellationToken).ConfigureAwait(false)) > 0)
                    {
                        received += read;
                    }
                }

                var seconds = Stopwatch.GetElapsedTime(started).TotalSeconds;
                if (received != size)
                {
                    throw new InvalidOperationException($"the bound's download gave {received} bytes, not {size}");
                }

                if (i > 0)
                {
                    best = Math.Max(best, size / seconds);
                    measured += seconds;
                    downloads++;
                }
            }

            return (best, (RoundSwarm.DriverCpuSeconds() - cpuStart) / ((double)size * downloads));
        }
        finally
        {
            await app.StopAsync(CancellationToken.None).ConfigureAwait(false);
            await app.DisposeAsync().ConfigureAwait(false);
        }
    }
}
