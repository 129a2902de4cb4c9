namespace SwarmLearning.Fuzz.Harness;

/// <summary>
/// A small deterministic generator (xoshiro256**, seeded by SplitMix64). Each input of a run gets its own generator
/// seeded from (run seed, input index), so any input can be regenerated alone: a finding names its seed and index.
/// </summary>
internal sealed class FuzzRandom
{
    private ulong _s0;
    private ulong _s1;
    private ulong _s2;
    private ulong _s3;

    public FuzzRandom(ulong seed)
    {
        var x = seed;
        _s0 = SplitMix(ref x);
        _s1 = SplitMix(ref x);
        _s2 = SplitMix(ref x);
        _s3 = SplitMix(ref x);
    }

    /// <summary>The generator of input <paramref name="index"/> of a run with <paramref name="seed"/>.</summary>
    public static FuzzRandom ForInput(ulong seed, long index)
    {
        var x = seed ^ ((ulong)index * 0xD6E8FEB86659FD93UL);
        return new FuzzRandom(SplitMix(ref x));
    }

    public ulong NextU64()
    {
        var result = ulong.RotateLeft(_s1 * 5, 7) * 9;
        var t = _s1 << 17;
        _s2 ^= _s0;
        _s3 ^= _s1;
        _s1 ^= _s2;
        _s0 ^= _s3;
        _s2 ^= t;
        _s3 = ulong.RotateLeft(_s3, 45);
        return result;
    }

    /// <summary>A uniform integer in [0, <paramref name="maxExclusive"/>); 0 when the range is empty.</summary>
    public int Next(int maxExclusive) => maxExclusive <= 0 ? 0 : (int)(NextU64() % (ulong)maxExclusive);

    /// <summary>A uniform integer in [<paramref name="min"/>, <paramref name="maxExclusive"/>).</summary>
    public int Next(int min, int maxExclusive) => min + Next(maxExclusive - min);

    /// <summary>True with probability 1/<paramref name="n"/>.</summary>
    public bool OneIn(int n) => Next(n) == 0;

    public T Pick<T>(IReadOnlyList<T> items) => items[Next(items.Count)];

    /// <summary>One of the arguments, uniformly.</summary>
    public T Choose<T>(params ReadOnlySpan<T> items) => items[Next(items.Length)];

    /// <summary>A small count, biased low: 1 most often, up to <paramref name="max"/>.</summary>
    public int SmallCount(int max)
    {
        var n = 1;
        while (n < max && OneIn(2))
        {
            n++;
        }

        return n;
    }

    public void NextBytes(Span<byte> destination)
    {
        for (var i = 0; i < destination.Length; i++)
        {
            destination[i] = (byte)NextU64();
        }
    }

    private static ulong SplitMix(ref ulong x)
    {
        var z = x += 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }
}
