namespace SwarmLearning.Merging.Robust;

/// <summary>The outcome of <see cref="Krum.Select"/>.</summary>
/// <param name="Scores">Each input's score: the sum of squared distances to its n − f − 2 nearest other inputs.</param>
/// <param name="Selected">The indices of the m lowest scores, lowest first (ties: lower index first).</param>
public sealed record KrumSelection(double[] Scores, int[] Selected);

/// <summary>
/// Krum (Blanchard et al., 2017): score each model by the sum of squared distances to its n − f − 2 nearest
/// others and keep the lowest score; multi-Krum keeps the m lowest. Scores ignore the weights (a Byzantine node
/// could claim any weight); the weights apply when the selected models are averaged.
/// </summary>
public static class Krum
{
    /// <summary>Selects from the row-major n×n matrix of squared distances.</summary>
    public static KrumSelection Select(ReadOnlySpan<double> squaredDistances, int n, int byzantine, int select)
    {
        if (n - byzantine - 2 < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(byzantine), $"krum with f = {byzantine} needs at least {byzantine + 3} models, got {n}");
        }

        ArgumentOutOfRangeException.ThrowIfLessThan(select, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(select, n);
        var neighbours = n - byzantine - 2;
        var scores = new double[n];
        var row = new double[n - 1];
        for (var i = 0; i < n; i++)
        {
            var k = 0;
            for (var j = 0; j < n; j++)
            {
                if (j != i)
                {
                    row[k++] = squaredDistances[(i * n) + j];
                }
            }

            Array.Sort(row);
            scores[i] = row.AsSpan(0, neighbours).ToArray().Sum();
        }

        var order = Enumerable.Range(0, n).OrderBy(i => scores[i]).ThenBy(i => i).Take(select).ToArray();
        return new KrumSelection(scores, order);
    }
}
