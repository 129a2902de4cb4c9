using System.Diagnostics;
using System.Globalization;

namespace SwarmLearning.Cli.Terminal;

/// <summary>
/// A one-line progress bar on standard error, redrawn at most ten times a second: phase, bar, percent, rate.
/// Draws nothing when output is not a terminal, so scripts and logs stay clean.
/// </summary>
internal sealed class ProgressBar : IDisposable
{
    private const int Width = 30;
    private readonly TextWriter _error;
    private readonly bool _enabled;
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private readonly Lock _lock = new();
    private long _lastDraw = -1000;
    private bool _drawn;

    public ProgressBar(TextWriter error, bool enabled)
    {
        _error = error;
        _enabled = enabled;
    }

    /// <summary>Shows progress of <paramref name="phase"/>; <paramref name="bytesPerUnit"/> turns units into a byte rate.</summary>
    public void Report(string phase, long done, long total, double bytesPerUnit)
    {
        if (!_enabled)
        {
            return;
        }

        lock (_lock)
        {
            var now = _clock.ElapsedMilliseconds;
            if (now - _lastDraw < 100 && done < total)
            {
                return;
            }

            _lastDraw = now;
            var fraction = total > 0 ? Math.Clamp((double)done / total, 0, 1) : 1;
            var filled = (int)Math.Round(fraction * Width);
            var rate = now > 0 ? done * bytesPerUnit / (now / 1000.0) / 1e9 : 0;
            var line = string.Create(
                CultureInfo.InvariantCulture,
                $"\r{phase,-10} [{new string('#', filled)}{new string('.', Width - filled)}] {fraction * 100,5:F1}%  {rate,6:F2} GB/s ");
            _error.Write(line);
            _drawn = true;
        }
    }

    /// <summary>Clears the bar's line.</summary>
    public void Dispose()
    {
        if (_drawn)
        {
            _error.Write("\r" + new string(' ', Width + 40) + "\r");
        }
    }
}
