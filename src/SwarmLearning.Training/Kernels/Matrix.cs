namespace SwarmLearning.Training.Kernels;

/// <summary>
/// A view of a row-major matrix stored in part of an array, or of its transpose. Element (r, c) of the view is
/// <c>Data[Offset + r × Stride + c]</c>, or <c>Data[Offset + c × Stride + r]</c> when <see cref="Transposed"/> is set
/// (the stored matrix is Cols × Rows). Taking <see cref="T"/> costs nothing: the kernels read either layout.
/// </summary>
internal readonly struct Matrix
{
    public Matrix(float[] data, int offset, int rows, int cols, int stride, bool transposed)
    {
        ArgumentNullException.ThrowIfNull(data);
        ArgumentOutOfRangeException.ThrowIfNegative(rows);
        ArgumentOutOfRangeException.ThrowIfNegative(cols);
        var storedRows = transposed ? cols : rows;
        var storedCols = transposed ? rows : cols;
        ArgumentOutOfRangeException.ThrowIfLessThan(stride, storedCols);
        if (storedRows > 0 && storedCols > 0 && offset + ((long)(storedRows - 1) * stride) + storedCols > data.Length)
        {
            throw new ArgumentException($"A {rows}×{cols} view at offset {offset} with stride {stride} does not fit in {data.Length} values.", nameof(data));
        }

        Data = data;
        Offset = offset;
        Rows = rows;
        Cols = cols;
        Stride = stride;
        Transposed = transposed;
    }

    public float[] Data { get; }

    public int Offset { get; }

    public int Rows { get; }

    public int Cols { get; }

    public int Stride { get; }

    public bool Transposed { get; }

    /// <summary>The transpose, as a view of the same values.</summary>
    public Matrix T => new(Data, Offset, Cols, Rows, Stride, !Transposed);

    public float this[int row, int col] => Transposed ? Data[Offset + (col * Stride) + row] : Data[Offset + (row * Stride) + col];

    /// <summary>A dense <paramref name="rows"/> × <paramref name="cols"/> matrix at the start of <paramref name="data"/>.</summary>
    public static Matrix Dense(float[] data, int rows, int cols, int offset = 0) => new(data, offset, rows, cols, cols, transposed: false);
}
