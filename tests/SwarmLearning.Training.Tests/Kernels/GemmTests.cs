using System.Runtime.InteropServices;
using SwarmLearning.Merging.Kernels;
using SwarmLearning.Training.Kernels;

namespace SwarmLearning.Training.Tests.Kernels;

/// <summary>
/// The matrix multiply against a double-precision reference, for every operand layout and for sizes around every
/// tile and block edge. test.sh reruns these with AVX-512, AVX2 and all intrinsics switched off.
/// </summary>
[Trait("Category", "Kernel")]
public sealed class GemmTests
{
    public static TheoryData<int, int, int> Sizes => new()
    {
        { 1, 1, 1 }, { 1, 17, 3 }, { 5, 1, 7 }, { 6, 32, 8 }, { 7, 33, 9 }, { 13, 15, 63 }, { 64, 64, 64 },
        { 121, 65, 129 }, { 3, 2100, 5 }, { 250, 7, 300 }, { 17, 48, 1 },
    };

    [Theory]
    [MemberData(nameof(Sizes))]
    public void Every_layout_matches_the_reference(int m, int n, int k)
    {
        var random = new Random(m * 10007 + n * 101 + k);
        foreach (var transposeA in new[] { false, true })
        {
            foreach (var transposeB in new[] { false, true })
            {
                var (a, aData) = RandomMatrix(m, k, transposeA, random);
                var (b, bData) = RandomMatrix(k, n, transposeB, random);
                var c = new float[m * n];
                Gemm.Multiply(a, b, Matrix.Dense(c, m, n));
                AssertClose(Reference(a, b, null), c, k, $"A{(transposeA ? "ᵀ" : "")}·B{(transposeB ? "ᵀ" : "")} {m}×{n}×{k}");
                GC.KeepAlive(aData);
                GC.KeepAlive(bData);
            }
        }
    }

    [Fact]
    public void Accumulate_adds_to_the_product_and_strided_views_leave_the_rest_alone()
    {
        var random = new Random(5);
        const int m = 9, n = 37, k = 300, stride = 50;
        var (a, _) = RandomMatrix(m, k, transposed: false, random);
        var (b, _) = RandomMatrix(k, n, transposed: true, random);
        var c = new float[(m + 1) * stride];
        for (var i = 0; i < c.Length; i++)
        {
            c[i] = i % 7;
        }

        var before = (float[])c.Clone();
        var view = new Matrix(c, stride, m, n, stride, transposed: false);
        Gemm.Multiply(a, b, view, accumulate: true);
        var expected = Reference(a, b, (r, col) => before[stride + (r * stride) + col]);
        var got = new float[m * n];
        for (var r = 0; r < m; r++)
        {
            c.AsSpan(stride + (r * stride), n).CopyTo(got.AsSpan(r * n, n));
            Assert.Equal(before.AsSpan(stride + (r * stride) + n, stride - n), c.AsSpan(stride + (r * stride) + n, stride - n));
        }

        AssertClose(expected, got, k, "accumulate");
        Assert.Equal(before.AsSpan(0, stride), c.AsSpan(0, stride));
    }

    [Fact]
    public void An_empty_inner_dimension_gives_zeros_or_leaves_the_sum_alone()
    {
        var c = new float[] { 1, 2, 3, 4 };
        var empty = Matrix.Dense([], 2, 0);
        Gemm.Multiply(empty, Matrix.Dense([], 0, 2), Matrix.Dense(c, 2, 2), accumulate: true);
        Assert.Equal([1f, 2, 3, 4], c);
        Gemm.Multiply(empty, Matrix.Dense([], 0, 2), Matrix.Dense(c, 2, 2));
        Assert.Equal([0f, 0, 0, 0], c);
    }

    [Fact]
    public void Results_are_bit_identical_on_one_core_and_on_all()
    {
        var random = new Random(11);
        const int m = 96, n = 700, k = 513;
        var (a, _) = RandomMatrix(m, k, transposed: true, random);
        var (b, _) = RandomMatrix(k, n, transposed: false, random);
        var one = new float[m * n];
        var all = new float[m * n];
        var saved = Parallelism.MaxThreads;
        try
        {
            Parallelism.MaxThreads = 1;
            Gemm.Multiply(a, b, Matrix.Dense(one, m, n));
            Parallelism.MaxThreads = 4;
            Gemm.Multiply(a, b, Matrix.Dense(all, m, n));
        }
        finally
        {
            Parallelism.MaxThreads = saved;
        }

        Assert.Equal(one, all);
    }

    [Fact]
    public void Mismatched_shapes_are_refused()
    {
        var e = Assert.Throws<ArgumentException>(() => Gemm.Multiply(Matrix.Dense(new float[6], 2, 3), Matrix.Dense(new float[8], 4, 2), Matrix.Dense(new float[4], 2, 2)));
        Assert.Contains("2×3 by 4×2", e.Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentException>(() => new Matrix(new float[5], 0, 2, 3, 3, transposed: false));
    }

    [Fact]
    public void Width_follows_the_runtime_switches()
    {
        var width = Gemm.Width;
        if (Environment.GetEnvironmentVariable("DOTNET_EnableHWIntrinsic") == "0")
        {
            Assert.Equal(KernelWidth.Scalar, width);
        }
        else if (Environment.GetEnvironmentVariable("DOTNET_EnableAVX2") == "0" && RuntimeInformation.ProcessArchitecture == Architecture.X64)
        {
            Assert.True(width is KernelWidth.V128 or KernelWidth.Scalar, $"AVX2 is off but the GEMM uses {width}");
        }
        else if (Environment.GetEnvironmentVariable("DOTNET_EnableAVX512") == "0")
        {
            Assert.NotEqual(KernelWidth.V512, width);
        }
        else
        {
            Assert.NotEqual(KernelWidth.Scalar, width);
        }
    }

    private static (Matrix View, float[] Data) RandomMatrix(int rows, int cols, bool transposed, Random random)
    {
        var data = new float[rows * cols];
        for (var i = 0; i < data.Length; i++)
        {
            data[i] = (float)((random.NextDouble() * 2) - 1);
        }

        return (transposed ? Matrix.Dense(data, cols, rows).T : Matrix.Dense(data, rows, cols), data);
    }

    private static double[] Reference(Matrix a, Matrix b, Func<int, int, double>? initial)
    {
        var c = new double[a.Rows * b.Cols];
        for (var i = 0; i < a.Rows; i++)
        {
            for (var j = 0; j < b.Cols; j++)
            {
                var sum = initial?.Invoke(i, j) ?? 0.0;
                for (var p = 0; p < a.Cols; p++)
                {
                    sum += (double)a[i, p] * b[p, j];
                }

                c[(i * b.Cols) + j] = sum;
            }
        }

        return c;
    }

    /// <summary>float32 sums of k products of values in [−1, 1]: the error grows like √k · 2⁻²⁴ per term; allow k · 2⁻²² .</summary>
    private static void AssertClose(double[] expected, float[] actual, int k, string what)
    {
        var tolerance = Math.Max(1, k) * Math.Pow(2, -22) * 4;
        for (var i = 0; i < expected.Length; i++)
        {
            Assert.True(Math.Abs(expected[i] - actual[i]) <= tolerance, $"{what}: element {i} is {actual[i]}, expected {expected[i]} (±{tolerance:E1})");
        }
    }
}
