namespace SwarmLearning.Training;

/// <summary>
/// A small, fully specified pseudo-random generator, so that a seed gives the same partitions, initial weights,
/// shuffles and dropout masks on every machine and
/// every .NET version (<see cref="Random"/>'s algorithm is an implementation detail that may change). The state is
/// xoshiro256** (Blackman and Vigna, 2018), seeded with four outputs of SplitMix64 from the 64-bit seed.
/// Derived draws: <see cref="NextDouble"/> takes the top 53 bits; <see cref="NextInt"/> is Lemire's unbiased
/// multiply-and-reject; <see cref="Shuffle"/> is Fisher–Yates from the last element down;
/// <see cref="NextGaussian"/> is Marsaglia's polar method (the second value of each pair is discarded);
/// <see cref="NextGamma"/> is Marsaglia and Tsang's method with the U^(1/a) boost for shapes below 1.
/// Integer draws are exact everywhere; the real-valued ones use <see cref="Math.Log(double)"/>, <see cref="Math.Sqrt"/>
/// and <see cref="Math.Pow"/>, so a platform's math library could in principle change the last bit of a gamma draw.
/// </summary>
public sealed class Xoshiro256StarStar
{
    private ulong _s0;
    private ulong _s1;
    private ulong _s2;
    private ulong _s3;

    /// <summary>Creates a generator from a 64-bit seed.</summary>
    public Xoshiro256StarStar(ulong seed)
    {
        var x = seed;
        _s0 = SplitMix64(ref x);
        _s1 = SplitMix64(ref x);
        _s2 = SplitMix64(ref x);
        _s3 = SplitMix64(ref x);
    }

    /// <summary>
    /// A generator for one purpose (a network's initial weights, one epoch's shuffle), independent of the others
    /// drawn from the same seed: the seed is mixed with an FNV-1a hash of the purpose and the index.
    /// </summary>
    public static Xoshiro256StarStar For(ulong seed, string purpose, long index = 0)
    {
        ArgumentNullException.ThrowIfNull(purpose);
        var h = 14695981039346656037UL;
        foreach (var ch in purpose)
        {
            h = (h ^ ch) * 1099511628211UL;
        }

        return new Xoshiro256StarStar(seed ^ h ^ ((ulong)index * 0x9E3779B97F4A7C15UL));
    }

    /// <summary>The next 64 random bits.</summary>
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

    /// <summary>A uniform double in [0, 1): the top 53 bits times 2^-53.</summary>
    public double NextDouble() => (NextUInt64() >> 11) * (1.0 / (1UL << 53));

    /// <summary>A uniform float in [0, 1): the top 24 bits times 2^-24, so every value is exact.</summary>
    public float NextSingle() => (NextUInt64() >> 40) * (1f / (1 << 24));

    /// <summary>A uniform double in (0, 1): the top 53 bits plus one half, times 2^-53.</summary>
    public double NextOpenDouble() => ((NextUInt64() >> 11) + 0.5) * (1.0 / (1UL << 53));

    /// <summary>A uniform integer in [0, <paramref name="bound"/>), without bias (Lemire, 2019).</summary>
    public int NextInt(int bound)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(bound, 1);
        var range = (ulong)bound;
        var high = Math.BigMul(NextUInt64(), range, out var low);
        if (low < range)
        {
            var threshold = (0 - range) % range;
            while (low < threshold)
            {
                high = Math.BigMul(NextUInt64(), range, out low);
            }
        }

        return (int)high;
    }

    /// <summary>Shuffles <paramref name="values"/> in place: for i from the last index down to 1, swap i with NextInt(i + 1).</summary>
    public void Shuffle<T>(Span<T> values)
    {
        for (var i = values.Length - 1; i > 0; i--)
        {
            var j = NextInt(i + 1);
            (values[i], values[j]) = (values[j], values[i]);
        }
    }

    /// <summary>A standard normal draw (Marsaglia's polar method).</summary>
    public double NextGaussian()
    {
        while (true)
        {
            var u = (2 * NextDouble()) - 1;
            var v = (2 * NextDouble()) - 1;
            var s = (u * u) + (v * v);
            if (s is > 0 and < 1)
            {
                return u * Math.Sqrt(-2 * Math.Log(s) / s);
            }
        }
    }

    /// <summary>A Gamma(<paramref name="shape"/>, 1) draw (Marsaglia and Tsang, 2000).</summary>
    public double NextGamma(double shape)
    {
        if (!(shape > 0) || !double.IsFinite(shape))
        {
            throw new ArgumentOutOfRangeException(nameof(shape), shape, "The shape must be a positive finite number.");
        }

        if (shape < 1)
        {
            // Gamma(a) = Gamma(a + 1) · U^(1/a): the method itself needs a ≥ 1.
            var boost = Math.Pow(NextOpenDouble(), 1 / shape);
            return NextGamma(shape + 1) * boost;
        }

        var d = shape - (1.0 / 3);
        var c = 1 / Math.Sqrt(9 * d);
        while (true)
        {
            double x, v;
            do
            {
                x = NextGaussian();
                v = 1 + (c * x);
            }
            while (v <= 0);

            v = v * v * v;
            var u = NextOpenDouble();
            var x2 = x * x;
            if (u < 1 - (0.0331 * x2 * x2) || Math.Log(u) < (0.5 * x2) + (d * (1 - v + Math.Log(v))))
            {
                return d * v;
            }
        }
    }

    /// <summary>
    /// A draw from the symmetric Dirichlet distribution Dir(α, …, α) into <paramref name="proportions"/>: independent
    /// Gamma(α) draws divided by their sum. Should every draw underflow to 0 (α far below 0.01), all the mass goes to
    /// one component chosen uniformly, the limit the distribution tends to.
    /// </summary>
    public void NextDirichlet(double alpha, Span<double> proportions)
    {
        var sum = 0.0;
        for (var i = 0; i < proportions.Length; i++)
        {
            proportions[i] = NextGamma(alpha);
            sum += proportions[i];
        }

        if (sum > 0)
        {
            for (var i = 0; i < proportions.Length; i++)
            {
                proportions[i] /= sum;
            }
        }
        else if (!proportions.IsEmpty)
        {
            proportions.Clear();
            proportions[NextInt(proportions.Length)] = 1;
        }
    }

    private static ulong SplitMix64(ref ulong x)
    {
        x += 0x9E3779B97F4A7C15UL;
        var z = x;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }
}
