namespace JobRuntime.Samples.Fitting.Nlsq;

/// <summary>Why <see cref="LevenbergMarquardt"/> stopped.</summary>
public enum FitStopReason
{
    /// <summary>The residuals are exactly zero.</summary>
    ZeroResidual,

    /// <summary>The relative reduction of the residual sum of squares fell below the function tolerance.</summary>
    SmallReduction,

    /// <summary>The accepted step fell below the step tolerance.</summary>
    SmallStep,

    /// <summary>The gradient is orthogonal to the residuals within the gradient tolerance.</summary>
    SmallGradient,

    /// <summary>No step reduces the residuals further at machine precision (converged at the limit of double precision).</summary>
    MachinePrecision,

    /// <summary>No step reduces the residuals although the gradient is not small: the solver is stuck, not converged.</summary>
    Stalled,

    /// <summary>The iteration limit was reached before convergence.</summary>
    MaxIterations,

    /// <summary>The residual-evaluation limit was reached before convergence.</summary>
    MaxFunctionEvaluations,

    /// <summary>The residuals or Jacobian became NaN or infinite at the current parameters.</summary>
    NonFinite,

    /// <summary>
    /// The solver stopped where the Jacobian is rank-deficient: some parameter combination has no
    /// effect on the residuals there (for example an exponential decayed to zero), so the point is
    /// a degenerate stationary point, not a solution.
    /// </summary>
    RankDeficient,
}

/// <summary>One iteration of a fit, as reported to progress observers.</summary>
/// <param name="Iteration">The iteration number, from 1.</param>
/// <param name="Rss">The residual sum of squares at the current parameters.</param>
/// <param name="Damping">The current damping parameter μ.</param>
/// <param name="Message">A short description of what the iteration did.</param>
public readonly record struct FitIteration(int Iteration, double Rss, double Damping, string Message);

/// <summary>The outcome of a nonlinear least-squares fit.</summary>
public sealed record FitResult
{
    /// <summary>The parameter names (p1…pn when the problem gives none).</summary>
    public required IReadOnlyList<string> ParameterNames { get; init; }

    /// <summary>The fitted parameters.</summary>
    public required IReadOnlyList<double> Parameters { get; init; }

    /// <summary>Standard errors √(diag((JᵀJ)⁻¹)·RSS/dof); NaN when the Jacobian is rank-deficient or dof is 0.</summary>
    public required IReadOnlyList<double> StandardErrors { get; init; }

    /// <summary>The parameter covariance (JᵀJ)⁻¹·RSS/dof, row-major n×n.</summary>
    public required IReadOnlyList<double> Covariance { get; init; }

    /// <summary>The residual sum of squares Σ rᵢ² (weighted when the problem is weighted).</summary>
    public required double Rss { get; init; }

    /// <summary>Degrees of freedom m − n.</summary>
    public required int DegreesOfFreedom { get; init; }

    /// <summary>The number of observations m.</summary>
    public required int Observations { get; init; }

    /// <summary>R² = 1 − RSS/TSS (weighted), or NaN when the problem has no observed values.</summary>
    public required double RSquared { get; init; }

    /// <summary>The mean of |f(xᵢ) − yᵢ|/|yᵢ| in percent over observations with yᵢ ≠ 0, or NaN.</summary>
    public required double MeanPercentageError { get; init; }

    /// <summary>χ² = Σ wᵢ(f(xᵢ) − yᵢ)², equal to <see cref="Rss"/>; with wᵢ = 1/σᵢ² it is the classical χ².</summary>
    public required double ChiSquared { get; init; }

    /// <summary>χ²/dof.</summary>
    public double ReducedChiSquared => DegreesOfFreedom > 0 ? ChiSquared / DegreesOfFreedom : double.NaN;

    /// <summary>The iterations (Jacobian evaluations) used.</summary>
    public required int Iterations { get; init; }

    /// <summary>The residual evaluations used, not counting finite differences.</summary>
    public required int FunctionEvaluations { get; init; }

    /// <summary>Whether the fit converged; when false the parameters are the best point found, not a solution.</summary>
    public required bool Converged { get; init; }

    /// <summary>Why the solver stopped.</summary>
    public required FitStopReason StopReason { get; init; }

    /// <summary>A readable explanation of <see cref="StopReason"/>.</summary>
    public required string Message { get; init; }

    /// <summary>The wall-clock time the fit took.</summary>
    public required TimeSpan FitTime { get; init; }

    /// <summary>When the fit finished.</summary>
    public required DateTimeOffset Timestamp { get; init; }

    /// <summary>The value of the parameter called <paramref name="name"/>.</summary>
    /// <param name="name">A parameter name.</param>
    public double this[string name]
    {
        get
        {
            for (int i = 0; i < ParameterNames.Count; i++)
            {
                if (ParameterNames[i] == name)
                {
                    return Parameters[i];
                }
            }

            throw new KeyNotFoundException($"The fit has no parameter '{name}'; it has {string.Join(", ", ParameterNames)}.");
        }
    }
}
