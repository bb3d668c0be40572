namespace JobRuntime.Samples.Fitting.Nlsq;

/// <summary>How <see cref="LevenbergMarquardt"/> differentiates residuals that have no analytic Jacobian.</summary>
public enum FiniteDifferences
{
    /// <summary>Forward differences: n extra residual evaluations per Jacobian, about 8 correct digits.</summary>
    Forward,

    /// <summary>Central differences: 2n extra evaluations per Jacobian, about 10–11 correct digits.</summary>
    Central,
}

/// <summary>Stopping rules and numerical settings of <see cref="LevenbergMarquardt"/>.</summary>
public sealed record LevenbergMarquardtOptions
{
    /// <summary>
    /// Stop when both the actual and the predicted relative reduction of the residual sum of
    /// squares in a step are at most this (MINPACK's ftol). Default 1e-15.
    /// </summary>
    public double FunctionTolerance { get; init; } = 1e-15;

    /// <summary>
    /// Stop when an accepted step is at most this relative to the scaled parameter vector
    /// (MINPACK's xtol). Default 1e-10.
    /// </summary>
    public double StepTolerance { get; init; } = 1e-10;

    /// <summary>
    /// Stop when the largest cosine between the residual vector and a Jacobian column is at most
    /// this (MINPACK's gtol): the gradient vanishes. Default 1e-10.
    /// </summary>
    public double GradientTolerance { get; init; } = 1e-10;

    /// <summary>The most iterations (Jacobian evaluations) before giving up. Default 1000.</summary>
    public int MaxIterations { get; init; } = 1000;

    /// <summary>The most residual evaluations, not counting finite differences. Default 5000.</summary>
    public int MaxFunctionEvaluations { get; init; } = 5000;

    /// <summary>The initial damping relative to the scaled curvature (Nielsen's τ). Default 1e-3.</summary>
    public double InitialDamping { get; init; } = 1e-3;

    /// <summary>Numerical differences used when the problem has no analytic Jacobian. Default central.</summary>
    public FiniteDifferences Differences { get; init; } = FiniteDifferences.Central;

    /// <summary>Optional fixed parameter scales; <see langword="null"/> scales by Jacobian column norms (MINPACK mode 1).</summary>
    public IReadOnlyList<double>? ParameterScales { get; init; }

    internal void Validate(int parameterCount)
    {
        static void Positive(double v, string name)
        {
            if (!(v >= 0) || double.IsInfinity(v))
            {
                throw new ArgumentOutOfRangeException(name, v, $"{name} must be a finite non-negative number.");
            }
        }

        Positive(FunctionTolerance, nameof(FunctionTolerance));
        Positive(StepTolerance, nameof(StepTolerance));
        Positive(GradientTolerance, nameof(GradientTolerance));
        Positive(InitialDamping, nameof(InitialDamping));
        ArgumentOutOfRangeException.ThrowIfLessThan(MaxIterations, 1, nameof(MaxIterations));
        ArgumentOutOfRangeException.ThrowIfLessThan(MaxFunctionEvaluations, 1, nameof(MaxFunctionEvaluations));
        if (ParameterScales is not null)
        {
            if (ParameterScales.Count != parameterCount)
            {
                throw new ArgumentException($"{ParameterScales.Count} parameter scales were given for {parameterCount} parameters.", nameof(ParameterScales));
            }

            if (ParameterScales.Any(s => !(s > 0) || double.IsInfinity(s)))
            {
                throw new ArgumentException("Parameter scales must be positive and finite.", nameof(ParameterScales));
            }
        }
    }
}
