namespace JobRuntime.Samples.Fitting.Nlsq;

/// <summary>
/// A nonlinear least-squares problem: minimise Σ rᵢ(p)² over the parameters p, where the
/// residuals r(p) are given by <see cref="Residuals"/>.
/// </summary>
/// <remarks>
/// Implement <see cref="Jacobian"/> and return <see langword="true"/> from
/// <see cref="HasJacobian"/> when the derivatives are known analytically; otherwise
/// <see cref="LevenbergMarquardt"/> differentiates the residuals numerically (forward or central
/// differences, see <see cref="LevenbergMarquardtOptions.Differences"/>).
/// </remarks>
public interface INonlinearLeastSquaresProblem
{
    /// <summary>The number of residuals m (observations). Must be at least the parameter count.</summary>
    int ResidualCount { get; }

    /// <summary>The number of parameters n.</summary>
    int ParameterCount { get; }

    /// <summary>Parameter names for reports, or <see langword="null"/> for p1…pn.</summary>
    IReadOnlyList<string>? ParameterNames => null;

    /// <summary>Whether <see cref="Jacobian"/> is implemented.</summary>
    bool HasJacobian => false;

    /// <summary>Writes the m residuals at <paramref name="parameters"/> into <paramref name="residuals"/>.</summary>
    void Residuals(ReadOnlySpan<double> parameters, Span<double> residuals);

    /// <summary>
    /// Writes the m×n Jacobian ∂rᵢ/∂pⱼ, row-major (element [i·n + j]), into <paramref name="jacobian"/>.
    /// </summary>
    void Jacobian(ReadOnlySpan<double> parameters, Span<double> jacobian) =>
        throw new NotSupportedException("This problem has no analytic Jacobian; HasJacobian is false.");
}

/// <summary>
/// A problem whose residuals are weighted differences between observed values and a model
/// (rᵢ = √wᵢ·(f(xᵢ; p) − yᵢ)); lets a <see cref="FitResult"/> report R² and percentage errors.
/// </summary>
public interface IObservedData
{
    /// <summary>The observed values yᵢ, one per residual.</summary>
    IReadOnlyList<double> Observed { get; }

    /// <summary>The observation weights wᵢ (1 when unweighted), one per residual.</summary>
    IReadOnlyList<double> Weights { get; }
}
