namespace JobRuntime.Samples.Fitting.Nlsq;

/// <summary>Householder QR for the small dense least-squares systems of a fit (row-major storage).</summary>
internal static class DenseQr
{
    /// <summary>
    /// Factors the rows×cols matrix <paramref name="a"/> (rows ≥ cols) in place into QR, applying
    /// Qᵀ to <paramref name="b"/> (rows long) as it goes. On return the upper triangle of the first
    /// cols rows of <paramref name="a"/> holds R (the diagonal in <paramref name="rDiagonal"/>).
    /// </summary>
    public static void Factor(Span<double> a, int rows, int cols, Span<double> b, Span<double> rDiagonal)
    {
        for (int k = 0; k < cols; k++)
        {
            double norm = 0;
            double scale = 0;
            for (int i = k; i < rows; i++)
            {
                scale = Math.Max(scale, Math.Abs(a[(i * cols) + k]));
            }

            if (scale == 0)
            {
                rDiagonal[k] = 0;
                continue;
            }

            for (int i = k; i < rows; i++)
            {
                double v = a[(i * cols) + k] / scale;
                norm += v * v;
            }

            norm = scale * Math.Sqrt(norm);
            double akk = a[(k * cols) + k];
            double alpha = akk > 0 ? -norm : norm;

            // v = a[k:, k] - alpha e_k, stored in place; vᵀv = 2 norm (norm + |akk|).
            a[(k * cols) + k] = akk - alpha;
            double beta = norm * (norm + Math.Abs(akk));
            for (int j = k + 1; j < cols; j++)
            {
                double s = 0;
                for (int i = k; i < rows; i++)
                {
                    s += a[(i * cols) + k] * a[(i * cols) + j];
                }

                s /= beta;
                for (int i = k; i < rows; i++)
                {
                    a[(i * cols) + j] -= s * a[(i * cols) + k];
                }
            }

            if (!b.IsEmpty)
            {
                double s = 0;
                for (int i = k; i < rows; i++)
                {
                    s += a[(i * cols) + k] * b[i];
                }

                s /= beta;
                for (int i = k; i < rows; i++)
                {
                    b[i] -= s * a[(i * cols) + k];
                }
            }

            rDiagonal[k] = alpha;
        }
    }

    /// <summary>Solves R x = c by back substitution (R from <see cref="Factor"/>); false when R is singular.</summary>
    public static bool BackSubstitute(ReadOnlySpan<double> a, int cols, ReadOnlySpan<double> rDiagonal, ReadOnlySpan<double> c, Span<double> x)
    {
        for (int k = cols - 1; k >= 0; k--)
        {
            if (rDiagonal[k] == 0)
            {
                return false;
            }

            double s = c[k];
            for (int j = k + 1; j < cols; j++)
            {
                s -= a[(k * cols) + j] * x[j];
            }

            x[k] = s / rDiagonal[k];
        }

        return true;
    }

    /// <summary>
    /// Computes (AᵀA)⁻¹ = R⁻¹R⁻ᵀ from the factored matrix into <paramref name="inverse"/> (cols×cols);
    /// false when R is numerically singular (|Rₖₖ| ≤ cols·ε·max|Rⱼⱼ|).
    /// </summary>
    public static bool NormalInverse(ReadOnlySpan<double> a, int cols, ReadOnlySpan<double> rDiagonal, Span<double> inverse)
    {
        double max = 0;
        for (int k = 0; k < cols; k++)
        {
            max = Math.Max(max, Math.Abs(rDiagonal[k]));
        }

        for (int k = 0; k < cols; k++)
        {
            if (Math.Abs(rDiagonal[k]) <= cols * 2.220446049250313e-16 * max)
            {
                return false;
            }
        }

        // Rinv (upper triangular), column by column.
        var rinv = new double[cols * cols];
        for (int j = 0; j < cols; j++)
        {
            rinv[(j * cols) + j] = 1.0 / rDiagonal[j];
            for (int i = j - 1; i >= 0; i--)
            {
                double s = 0;
                for (int k = i + 1; k <= j; k++)
                {
                    s += a[(i * cols) + k] * rinv[(k * cols) + j];
                }

                rinv[(i * cols) + j] = -s / rDiagonal[i];
            }
        }

        for (int i = 0; i < cols; i++)
        {
            for (int j = i; j < cols; j++)
            {
                double s = 0;
                for (int k = j; k < cols; k++)
                {
                    s += rinv[(i * cols) + k] * rinv[(j * cols) + k];
                }

                inverse[(i * cols) + j] = s;
                inverse[(j * cols) + i] = s;
            }
        }

        return true;
    }
}
