using System.Globalization;
using System.Text;

namespace SwarmLearning.Fuzz.Harness;

/// <summary>What is wrong with how a parser handled an input.</summary>
internal enum FindingKind
{
    /// <summary>An exception that is not the parser's documented refusal escaped (IndexOutOfRange, Overflow, NullReference, OutOfMemory, …).</summary>
    Crash,

    /// <summary>The input took longer than the per-input time bound.</summary>
    Hang,

    /// <summary>The input made the parser allocate more than the bound for its size.</summary>
    Allocation,
}

/// <summary>One finding: the input that shows it, how to regenerate it, and why it is one.</summary>
internal sealed record Finding(string Target, FindingKind Kind, ulong Seed, long Index, byte[] Input, string Reason, string Signature)
{
    /// <summary>Exceptions are told apart by type and the frame that threw, so one bug gives one finding.</summary>
    public static string SignatureOf(Exception e)
    {
        var frame = e.StackTrace?.Split('\n').Select(l => l.Trim()).FirstOrDefault(l => l.StartsWith("at ", StringComparison.Ordinal)) ?? "";
        var cut = frame.IndexOf(" in ", StringComparison.Ordinal);
        return $"{e.GetType().FullName} {(cut > 0 ? frame[..cut] : frame)}";
    }

    /// <summary>The file name stem: target, kind, seed and index.</summary>
    public string FileStem => string.Create(CultureInfo.InvariantCulture, $"{Target}-{Kind.ToString().ToLowerInvariant()}-{Seed:x}-{Index}");

    /// <summary>Writes <c>STEM.bin</c> (the input, for <c>--replay</c>) and <c>STEM.txt</c> (the reason); returns the .bin path.</summary>
    public string WriteTo(string directory)
    {
        Directory.CreateDirectory(directory);
        var bin = Path.Combine(directory, FileStem + ".bin");
        File.WriteAllBytes(bin, Input);
        var text = new StringBuilder()
            .AppendLine(CultureInfo.InvariantCulture, $"target: {Target}")
            .AppendLine(CultureInfo.InvariantCulture, $"kind: {Kind.ToString().ToLowerInvariant()}")
            .AppendLine(CultureInfo.InvariantCulture, $"seed: {Seed} (input {Index}; regenerate with --seed {Seed} --start {Index} --inputs 1)")
            .AppendLine(CultureInfo.InvariantCulture, $"input: {Input.Length} bytes, {Path.GetFileName(bin)}")
            .AppendLine(CultureInfo.InvariantCulture, $"replay: scripts/fuzz.sh --replay {bin}")
            .AppendLine()
            .AppendLine(Reason)
            .ToString();
        File.WriteAllText(Path.Combine(directory, FileStem + ".txt"), text);
        return bin;
    }
}
