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
    private int _width;

    public ProgressBar(TextWriter error, bool enabled)
    {
        _error = error;
        _enabled = enabled;
    }

    /// <summary>Shows progress of <paramref name="phase"/>; <paramref name="bytesPerUnit"/> turns units into a byte rate.</summary>
    public void Report(string phase, long done, long total, double bytesPerUnit) =>
        Draw(phase, done, total, elapsedMs => string.Create(
            CultureInfo.InvariantCulture, $"{(elapsedMs > 0 ? done * bytesPerUnit / (elapsedMs / 1000.0) / 1e9 : 0),6:F2} GB/s"));

    /// <summary>Shows progress of <paramref name="phase"/> followed by <paramref name="detail"/> (e.g. loss and samples/s).</summary>
    public void Report(string phase, long done, long total, string detail) => Draw(phase, done, total, _ => detail);

    private void Draw(string phase, long done, long total, Func<long, string> detail)
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
            var line = string.Create(
                CultureInfo.InvariantCulture,
                $"\r{phase,-10} [{new string('#', filled)}{new string('.', Width - filled)}] {fraction * 100,5:F1}%  {detail(now)} ");
            _error.Write(line);
            _width = Math.Max(_width, line.Length);
            _drawn = true;
        }
    }

    /// <summary>Clears the bar's line, so ordinary output can follow; the next report draws it again.</summary>
    public void Clear()
    {
        lock (_lock)
        {
            if (_drawn)
            {
                _error.Write("\r" + new string(' ', _width) + "\r");
                _drawn = false;
                _lastDraw = -1000;
            }
        }
    }

    /// <summary>Clears the bar's line.</summary>
    public void Dispose() => Clear();
}
