namespace SwarmLearning.Merging.Robust;

/// <summary>Why a geometric-median iteration stopped.</summary>
public enum GeoMedianStop
{
    /// <summary>All inputs are identical; the weighted mean is the answer.</summary>
    IdenticalInputs,

    /// <summary>The estimate moved less than the tolerance times the inputs' spread.</summary>
    Converged,

    /// <summary>The estimate reached an input that the optimality test shows is the median (Vardi–Zhang).</summary>
    AtInput,

    /// <summary>The objective stopped decreasing for three iterations (floating-point floor).</summary>
    Stalled,

    /// <summary>The iteration cap was reached.</summary>
    IterationCap,
}

/// <summary>The outcome of <see cref="Weiszfeld.Solve"/>.</summary>
/// <param name="Coefficients">The median as a convex combination of the inputs: y = Σ cᵢ xᵢ.</param>
/// <param name="Iterations">Weiszfeld steps taken.</param>
/// <param name="Stop">Why it stopped.</param>
/// <param name="Objective">Σ wᵢ ‖xᵢ − y‖ at the result.</param>
public sealed record GeoMedianSolution(double[] Coefficients, int Iterations, GeoMedianStop Stop, double Objective);

/// <summary>
/// The weighted geometric median, argmin_y Σ wᵢ ‖xᵢ − y‖, by Weiszfeld's iteration with the Vardi–Zhang rule for
/// estimates that land on an input.
///
/// Every Weiszfeld estimate is a convex combination of the inputs, y = Σ cⱼ xⱼ, so the iteration runs on the n
/// coefficients alone, using the matrix D of squared pairwise distances: for Σ uⱼ = 0, ‖Σ uⱼ xⱼ‖² = −½ uᵀ D u,
/// hence ‖xᵢ − y‖² = −½ (c − eᵢ)ᵀ D (c − eᵢ). The model data are read twice in all (once for D, once to form the
/// result), whatever the number of iterations, and memory stays at n² numbers.
///
/// Stopping rule: start at the weighted mean; stop when a step moves the estimate by at most
/// <c>tolerance × spread</c> (spread = weighted mean distance of the inputs from the weighted mean), when the
/// optimality test, applied at the input nearest the estimate, says that input is the median, when the objective
/// has not decreased for three steps, or after <c>maxIterations</c> steps.
/// </summary>
public static class Weiszfeld
{
    /// <summary>Solves for the coefficients. <paramref name="squaredDistances"/> is row-major n×n, symmetric, zero diagonal.</summary>
    public static GeoMedianSolution Solve(ReadOnlySpan<double> squaredDistances, ReadOnlySpan<double> weights, int maxIterations, double tolerance)
    {
        var n = weights.Length;
        if (squaredDistances.Length != n * n)
        {
            throw new ArgumentException("the distance matrix must be n×n", nameof(squaredDistances));
        }

        ArgumentOutOfRangeException.ThrowIfLessThan(maxIterations, 1);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(tolerance);
        var d = squaredDistances.ToArray();
        var w = weights.ToArray();
        var total = w.Sum();
        var c = w.Select(x => x / total).ToArray();
        var distances = new double[n];
        var objective = DistancesTo(d, c, w, distances);
        var spread = objective / total;
        if (spread == 0 || n == 1)
        {
            return new GeoMedianSolution(c, 0, GeoMedianStop.IdenticalInputs, objective);
        }

        var best = objective;
        var sinceImprovement = 0;
        var next = new double[n];
        var step = new double[n];
        for (var iteration = 1; iteration <= maxIterations; iteration++)
        {
            // An input that is the median is approached only linearly (or, from an estimate that lands on it, is
            // seen through distances that cancel to ~1e-8 × spread, far above the landing threshold below), so test
            // the nearest input exactly and return it as it is.
            var nearest = IndexOfMin(distances);
            if (IsMedianAt(d, w, nearest, spread, step))
            {
                Array.Clear(c);
                c[nearest] = 1;
                objective = DistancesTo(d, c, w, distances);
                return new GeoMedianSolution(c, iteration, GeoMedianStop.AtInput, objective);
            }

            // Weiszfeld step: T = Σ ηᵢ xᵢ / Σ ηᵢ with ηᵢ = wᵢ / ‖xᵢ − y‖ over inputs the estimate does not sit on.
            var atInput = -1;
            var etaSum = 0.0;
            for (var i = 0; i < n; i++)
            {
                if (distances[i] <= 1e-12 * spread)
                {
                    atInput = atInput < 0 || distances[i] < distances[atInput] ? i : atInput;
                    next[i] = 0;
                }
                else
                {
                    next[i] = w[i] / distances[i];
                    etaSum += next[i];
                }
            }

            for (var i = 0; i < n; i++)
            {
                next[i] /= etaSum;
            }

            if (atInput >= 0)
            {
                // Vardi–Zhang: at input k, r = ‖Σ_{i≠k} ηᵢ (xᵢ − y)‖ = Σ η · ‖T − y‖. If r ≤ w_k the input is the median;
                // otherwise step to (1 − w_k/r)·T + (w_k/r)·y, which leaves the input and keeps descending.
                for (var i = 0; i < n; i++)
                {
                    step[i] = next[i] - c[i];
                }

                var r = etaSum * Norm(d, step);
                if (r <= w[atInput])
                {
                    Array.Clear(c);
                    c[atInput] = 1;
                    objective = DistancesTo(d, c, w, distances);
                    return new GeoMedianSolution(c, iteration, GeoMedianStop.AtInput, objective);
                }

                var keep = w[atInput] / r;
                for (var i = 0; i < n; i++)
                {
                    next[i] = ((1 - keep) * next[i]) + (keep * c[i]);
                }
            }

            for (var i = 0; i < n; i++)
            {
                step[i] = next[i] - c[i];
            }

            var moved = Norm(d, step);
            (c, next) = (next, c);
            objective = DistancesTo(d, c, w, distances);
            if (moved <= tolerance * spread)
            {
                return new GeoMedianSolution(c, iteration, GeoMedianStop.Converged, objective);
            }

            if (objective < best)
            {
                best = objective;
                sinceImprovement = 0;
            }
            else if (++sinceImprovement >= 3)
            {
                return new GeoMedianSolution(c, iteration, GeoMedianStop.Stalled, objective);
            }
        }

        return new GeoMedianSolution(c, maxIterations, GeoMedianStop.IterationCap, objective);
    }

    /// <summary>
    /// Vardi–Zhang's optimality test evaluated at input k itself, from the distances between inputs rather than from
    /// an estimate near it: xₖ is the unique median when the weight at xₖ exceeds the pull of the other inputs,
    /// ‖Σ_{xᵢ≠xₖ} wᵢ (xᵢ − xₖ)/‖xᵢ − xₖ‖‖ &lt; Σ_{xᵢ=xₖ} wᵢ. The test is strict, with a margin for rounding: on
    /// equality (two inputs of equal weight) every point between them is a median, and the iteration's answer stands.
    /// </summary>
    private static bool IsMedianAt(double[] d, double[] w, int k, double spread, double[] u)
    {
        var n = w.Length;
        var weightAtK = 0.0;
        var pull = 0.0;
        for (var i = 0; i < n; i++)
        {
            var distance = Math.Sqrt(d[(k * n) + i]);
            if (distance <= 1e-12 * spread)
            {
                weightAtK += w[i];
                u[i] = 0;
            }
            else
            {
                u[i] = w[i] / distance;
                pull += u[i];
            }
        }

        // Σ uᵢ (xᵢ − xₖ) as coefficients summing to zero.
        u[k] = -pull;
        return Norm(d, u) < weightAtK * (1 - 1e-9);
    }

    private static int IndexOfMin(double[] values)
    {
        var best = 0;
        for (var i = 1; i < values.Length; i++)
        {
            if (values[i] < values[best])
            {
                best = i;
            }
        }

        return best;
    }

    /// <summary>Fills ‖xᵢ − y‖ for y = Σ cⱼ xⱼ and returns Σ wᵢ ‖xᵢ − y‖.</summary>
    private static double DistancesTo(double[] d, double[] c, double[] w, double[] distances)
    {
        var n = c.Length;

        // ‖xᵢ − y‖² = (D c)ᵢ − ½ cᵀ D c.
        var dc = new double[n];
        var quadratic = 0.0;
        for (var i = 0; i < n; i++)
        {
            var sum = 0.0;
            for (var j = 0; j < n; j++)
            {
                sum += d[(i * n) + j] * c[j];
            }

            dc[i] = sum;
            quadratic += c[i] * sum;
        }

        var objective = 0.0;
        for (var i = 0; i < n; i++)
        {
            distances[i] = Math.Sqrt(Math.Max(0, dc[i] - (0.5 * quadratic)));
            objective += w[i] * distances[i];
        }

        return objective;
    }

    /// <summary>‖Σ uⱼ xⱼ‖ for coefficients summing to zero: √(−½ uᵀ D u).</summary>
    private static double Norm(double[] d, double[] u)
    {
        var n = u.Length;
        var q = 0.0;
        for (var i = 0; i < n; i++)
        {
            if (u[i] == 0)
            {
                continue;
            }

            var sum = 0.0;
            for (var j = 0; j < n; j++)
            {
                sum += d[(i * n) + j] * u[j];
            }

            q += u[i] * sum;
        }

        return Math.Sqrt(Math.Max(0, -0.5 * q));
    }
}
