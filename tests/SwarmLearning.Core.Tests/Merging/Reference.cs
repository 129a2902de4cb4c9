namespace SwarmLearning.Tests.Merging;

/// <summary>
/// The merge methods written straight from their specification, in double precision, with plain loops and sorts:
/// nothing shared with the engine (no sorting network, no centring, no coefficient-space Weiszfeld).
/// Inputs are models as flat vectors <c>x[i]</c> with weights <c>w[i]</c>; inputs of weight 0 are dropped first.
/// </summary>
internal static class Reference
{
    /// <summary>Σ wᵢxᵢ / Σ wᵢ.</summary>
    public static double[] Mean(double[][] x, double[] w)
    {
        (x, w) = Participants(x, w);
        var total = w.Sum();
        var result = new double[x[0].Length];
        for (var i = 0; i < x.Length; i++)
        {
            for (var j = 0; j < result.Length; j++)
            {
                result[j] += w[i] * x[i][j];
            }
        }

        for (var j = 0; j < result.Length; j++)
        {
            result[j] /= total;
        }

        return result;
    }

    /// <summary>
    /// Sort, accumulate weights, take the first value whose cumulative weight reaches half the total; if it reaches
    /// exactly half, the average of that value and the next.
    /// </summary>
    public static double WeightedMedian(IReadOnlyList<double> values, IReadOnlyList<double> weights)
    {
        var sorted = Sorted(values, weights);
        var half = weights.Sum() / 2;
        var cumulative = 0.0;
        for (var k = 0; k < sorted.Length; k++)
        {
            cumulative += sorted[k].Weight;
            if (cumulative == half)
            {
                return (sorted[k].Value + sorted[k + 1].Value) / 2;
            }

            if (cumulative > half)
            {
                return sorted[k].Value;
            }
        }

        throw new InvalidOperationException("the cumulative weight never reached half the total");
    }

    /// <summary>Drops the <paramref name="trim"/> smallest and largest values and returns the weighted mean of the rest.</summary>
    public static double TrimmedMean(IReadOnlyList<double> values, IReadOnlyList<double> weights, int trim)
    {
        var kept = Sorted(values, weights)[trim..^trim];
        return kept.Sum(p => p.Weight * p.Value) / kept.Sum(p => p.Weight);
    }

    /// <summary>Applies a per-coordinate statistic to every coordinate.</summary>
    public static double[] PerCoordinate(double[][] x, double[] w, Func<double[], double[], double> statistic)
    {
        (x, w) = Participants(x, w);
        var result = new double[x[0].Length];
        var column = new double[x.Length];
        for (var j = 0; j < result.Length; j++)
        {
            for (var i = 0; i < x.Length; i++)
            {
                column[i] = x[i][j];
            }

            result[j] = statistic(column, w);
        }

        return result;
    }

    public static double[] CoordMedian(double[][] x, double[] w) => PerCoordinate(x, w, WeightedMedian);

    public static double[] TrimmedMean(double[][] x, double[] w, double beta)
    {
        var n = Participants(x, w).X.Length;
        var trim = (int)Math.Floor(beta * n);
        return PerCoordinate(x, w, (v, u) => TrimmedMean(v, u, trim));
    }

    /// <summary>
    /// Krum scores (sum of squared distances to the n − f − 2 nearest others) and the m lowest, lowest first, ties
    /// to the lower index. Indices are into the participants.
    /// </summary>
    public static (double[] Scores, int[] Selected) KrumSelect(double[][] x, double[] w, int? f, int m)
    {
        (x, w) = Participants(x, w);
        var n = x.Length;
        var byzantine = f ?? Math.Max(0, (n - 3) / 2);
        var scores = new double[n];
        for (var i = 0; i < n; i++)
        {
            scores[i] = Enumerable.Range(0, n).Where(j => j != i).Select(j => SquaredDistance(x[i], x[j])).Order().Take(n - byzantine - 2).Sum();
        }

        return (scores, [.. Enumerable.Range(0, n).OrderBy(i => scores[i]).ThenBy(i => i).Take(m)]);
    }

    /// <summary>The weighted mean of the models Krum selects.</summary>
    public static double[] Krum(double[][] x, double[] w, int? f, int m)
    {
        var selected = KrumSelect(x, w, f, m).Selected;
        (x, w) = Participants(x, w);
        return Mean([.. selected.Select(i => x[i])], [.. selected.Select(i => w[i])]);
    }

    /// <summary>
    /// The weighted geometric median of the whole vectors. First the exact optimality test at every input (the
    /// median is input k iff ‖Σ_{i: xᵢ≠xₖ} wᵢ (xᵢ − xₖ)/‖xᵢ − xₖ‖‖ ≤ Σ_{i: xᵢ=xₖ} wᵢ); otherwise plain Weiszfeld on
    /// the full vectors from the weighted mean, run far past the engine's tolerance.
    /// </summary>
    public static double[] GeoMedian(double[][] x, double[] w)
    {
        (x, w) = Participants(x, w);
        var n = x.Length;
        var dimension = x[0].Length;
        for (var k = 0; k < n; k++)
        {
            var pull = new double[dimension];
            var atK = 0.0;
            for (var i = 0; i < n; i++)
            {
                var d = Math.Sqrt(SquaredDistance(x[i], x[k]));
                if (d == 0)
                {
                    atK += w[i];
                    continue;
                }

                for (var j = 0; j < dimension; j++)
                {
                    pull[j] += w[i] * (x[i][j] - x[k][j]) / d;
                }
            }

            if (Math.Sqrt(pull.Sum(v => v * v)) <= atK)
            {
                return [.. x[k]];
            }
        }

        var y = Mean(x, w);
        var spread = Objective(x, w, y) / w.Sum();
        for (var iteration = 0; iteration < 100_000; iteration++)
        {
            var next = new double[dimension];
            var etaSum = 0.0;
            for (var i = 0; i < n; i++)
            {
                var eta = w[i] / Math.Sqrt(SquaredDistance(x[i], y));
                etaSum += eta;
                for (var j = 0; j < dimension; j++)
                {
                    next[j] += eta * x[i][j];
                }
            }

            for (var j = 0; j < dimension; j++)
            {
                next[j] /= etaSum;
            }

            var moved = Math.Sqrt(SquaredDistance(next, y));
            y = next;
            if (moved <= 1e-13 * spread)
            {
                break;
            }
        }

        return y;
    }

    /// <summary>Σ wᵢ ‖xᵢ − y‖.</summary>
    public static double Objective(double[][] x, double[] w, double[] y) =>
        x.Select((xi, i) => w[i] * Math.Sqrt(SquaredDistance(xi, y))).Sum();

    /// <summary>The weighted mean distance of the participants from their weighted mean (the engine's "spread").</summary>
    public static double Spread(double[][] x, double[] w)
    {
        (x, w) = Participants(x, w);
        return Objective(x, w, Mean(x, w)) / w.Sum();
    }

    public static double SquaredDistance(IReadOnlyList<double> a, IReadOnlyList<double> b)
    {
        var sum = 0.0;
        for (var j = 0; j < a.Count; j++)
        {
            var d = a[j] - b[j];
            sum += d * d;
        }

        return sum;
    }

    public static double Distance(IReadOnlyList<double> a, IReadOnlyList<double> b) => Math.Sqrt(SquaredDistance(a, b));

    /// <summary>Row-major n×n squared distances.</summary>
    public static double[] SquaredDistances(double[][] x)
    {
        var n = x.Length;
        var d = new double[n * n];
        for (var i = 0; i < n; i++)
        {
            for (var j = 0; j < n; j++)
            {
                d[(i * n) + j] = SquaredDistance(x[i], x[j]);
            }
        }

        return d;
    }

    private static (double Value, double Weight)[] Sorted(IReadOnlyList<double> values, IReadOnlyList<double> weights) =>
        [.. values.Select((v, i) => (Value: v, Weight: weights[i])).OrderBy(p => p.Value)];

    private static (double[][] X, double[] W) Participants(double[][] x, double[] w)
    {
        var keep = Enumerable.Range(0, x.Length).Where(i => w[i] > 0).ToArray();
        return ([.. keep.Select(i => x[i])], [.. keep.Select(i => w[i])]);
    }
}
