namespace SwarmLearning.Fuzz.Harness;

/// <summary>
/// A parser under test: valid inputs to start from, a way to make a new input, the parse itself, and which exceptions
/// are the parser's documented way of saying "not valid". Any other exception is a finding.
/// </summary>
internal interface IFuzzTarget
{
    /// <summary>The name used on the command line and in finding files.</summary>
    string Name { get; }

    /// <summary>Valid inputs, built in code; every one must parse.</summary>
    IReadOnlyList<byte[]> Corpus { get; }

    /// <summary>Makes one input from the corpus: byte-level and structure-aware mutations. Deterministic in <paramref name="random"/>.</summary>
    byte[] Generate(FuzzRandom random);

    /// <summary>Parses the input the way the code that receives such bytes from outside does.</summary>
    void Execute(byte[] input);

    /// <summary>Whether <paramref name="exception"/> is a documented refusal of an invalid input.</summary>
    bool IsExpected(Exception exception);
}
