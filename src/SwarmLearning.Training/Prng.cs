namespace SwarmLearning.Training;

/// <summary>
/// xoshiro256** (Blackman and Vigna, 2018) seeded through SplitMix64: a small, fast generator whose sequence is
/// fixed by its definition, so a seed gives the same weights, shuffles and dropout masks on every machine and every
/// .NET version (<see cref="Random"/> promises no such thing).
/// </summary>
internal sealed class Prng
{
    private ulong _s0;
    private ulong _s1;
    private ulong _s2;
    private ulong _s3;

    public Prng(ulong seed)
    {
        _s0 = SplitMix64(ref seed);
        _s1 = SplitMix64(ref seed);
        _s2 = SplitMix64(ref seed);
        _s3 = SplitMix64(ref seed);
    }

    /// <summary>A generator for one purpose (a layer, an epoch's shuffle), independent of the others drawn from the same seed.</summary>
    public static Prng For(ulong seed, string purpose, long index = 0)
    {
        // FNV-1a over the purpose, so streams for different purposes start far apart.
        var h = 14695981039346656037UL;
        foreach (var ch in purpose)
        {
            h = (h ^ ch) * 1099511628211UL;
        }

        return new Prng(seed ^ h ^ ((ulong)index * 0x9E3779B97F4A7C15UL));
    }

    public ulong NextUInt64()
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

    /// <summary>Uniform in [0, 1) with 24 bits, every value exactly representable.</summary>
    public float NextSingle() => (NextUInt64() >> 40) * (1f / (1 << 24));

    /// <summary>Uniform in [0, 1) with 53 bits.</summary>
    public double NextDouble() => (NextUInt64() >> 11) * (1.0 / (1UL << 53));

    /// <summary>Uniform in [0, <paramref name="bound"/>), unbiased (Lemire's multiply-and-reject).</summary>
    public int NextInt(int bound)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(bound);
        var range = (ulong)bound;
        var product = (UInt128)NextUInt64() * range;
        if ((ulong)product < range)
        {
            var threshold = (0UL - range) % range;
            while ((ulong)product < threshold)
            {
                product = (UInt128)NextUInt64() * range;
            }
        }

        return (int)(product >> 64);
    }

    /// <summary>Fisher–Yates shuffle in place.</summary>
    public void Shuffle<T>(Span<T> values)
    {
        for (var i = values.Length - 1; i > 0; i--)
        {
            var j = NextInt(i + 1);
            (values[i], values[j]) = (values[j], values[i]);
        }
    }

    private static ulong SplitMix64(ref ulong state)
    {
        var z = state += 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }
}
