using System.Diagnostics;

namespace JobRuntime.Samples.Fitting.Nlsq;

/// <summary>
/// Levenberg–Marquardt nonlinear least squares in the MINPACK tradition: parameters scaled by
/// the Jacobian's column norms, Nielsen's damping update, each damped step solved by a
/// Householder QR of the augmented system [J; √μ·D] (never the normal equations), and MINPACK's
/// convergence tests on relative reduction, step and gradient. It reports why it stopped; a fit
/// that did not converge says so in <see cref="FitResult.Converged"/>.
/// </summary>
public sealed class LevenbergMarquardt
{
    private const double Epsilon = 2.220446049250313e-16;

    /// <summary>Creates a solver with the given options (defaults when <see langword="null"/>).</summary>
    /// <param name="options">Stopping rules and numerical settings.</param>
    public LevenbergMarquardt(LevenbergMarquardtOptions? options = null) => Options = options ?? new LevenbergMarquardtOptions();

    /// <summary>The solver's options.</summary>
    public LevenbergMarquardtOptions Options { get; }

    /// <summary>Fits <paramref name="problem"/> from <paramref name="start"/> with default options.</summary>
    /// <param name="problem">The problem.</param>
    /// <param name="start">The starting parameters.</param>
    /// <param name="progress">Receives one report per iteration.</param>
    /// <param name="cancellationToken">Checked at every iteration.</param>
    /// <returns>The fit.</returns>
    public static FitResult Fit(
        INonlinearLeastSquaresProblem problem,
        IReadOnlyList<double> start,
        IProgress<FitIteration>? progress = null,
        CancellationToken cancellationToken = default) =>
        new LevenbergMarquardt().Solve(problem, start, progress, cancellationToken);

    /// <summary>Fits <paramref name="problem"/> from <paramref name="start"/>.</summary>
    /// <param name="problem">The problem.</param>
    /// <param name="start">The starting parameters (finite, one per parameter).</param>
    /// <param name="progress">Receives one report per iteration.</param>
    /// <param name="cancellationToken">Checked at every iteration.</param>
    /// <returns>The fit; check <see cref="FitResult.Converged"/>.</returns>
    /// <exception cref="ArgumentException">The start has the wrong length, holds non-finite values, or the residuals are not finite there.</exception>
    /// <exception cref="OperationCanceledException">The token was cancelled.</exception>
    public FitResult Solve(
        INonlinearLeastSquaresProblem problem,
        IReadOnlyList<double> start,
        IProgress<FitIteration>? progress = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(problem);
        ArgumentNullException.ThrowIfNull(start);
        int m = problem.ResidualCount;
        int n = problem.ParameterCount;
        if (n < 1)
        {
            throw new ArgumentException("The problem has no parameters.", nameof(problem));
        }

        if (m < n)
        {
            throw new ArgumentException($"The problem has {m} residuals for {n} parameters; it needs at least as many residuals as parameters.", nameof(problem));
        }

        if (start.Count != n)
        {
            throw new ArgumentException($"The start has {start.Count} values but the problem has {n} parameters.", nameof(start));
        }

        Options.Validate(n);
        var stopwatch = Stopwatch.StartNew();
        var first = Run(problem, start, Options, progress, stopwatch, cancellationToken);
        if (first.Converged || Options.ParameterScales is not null)
        {
            return first;
        }

        // Second chance: Jacobian-norm scaling can run a parameter onto a plateau (an exponential
        // decayed to zero, say) from a poor start; Marquardt's unit scaling often does not.
        var second = Run(problem, start, Options with { ParameterScales = Enumerable.Repeat(1.0, n).ToArray() }, progress, stopwatch, cancellationToken);
        var chosen = second.Converged || second.Rss < first.Rss ? second : first;
        string note = second.Converged
            ? $" (Converged on a second attempt with unit parameter scaling; the first, scaled by Jacobian column norms, ended: {first.Message})"
            : $" (A second attempt with unit parameter scaling did not converge either: {(chosen == first ? second.Message : first.Message)})";
        return chosen with
        {
            Message = chosen.Message + note,
            Iterations = first.Iterations + second.Iterations,
            FunctionEvaluations = first.FunctionEvaluations + second.FunctionEvaluations,
            FitTime = stopwatch.Elapsed,
        };
    }

    private static FitResult Run(
        INonlinearLeastSquaresProblem problem,
        IReadOnlyList<double> start,
        LevenbergMarquardtOptions options,
        IProgress<FitIteration>? progress,
        Stopwatch stopwatch,
        CancellationToken cancellationToken)
    {
        int m = problem.ResidualCount;
        int n = problem.ParameterCount;
        var state = new State(problem, options, m, n);
        for (int j = 0; j < n; j++)
        {
            if (!double.IsFinite(start[j]))
            {
                throw new ArgumentException($"Start value {j} is {start[j]}; every start value must be finite.", nameof(start));
            }

            state.X[j] = start[j];
        }

        state.Evaluate(state.X, state.R);
        if (!Spans.AllFinite(state.R))
        {
            throw new ArgumentException("The residuals are not finite at the start; choose a start where the model is defined.", nameof(start));
        }

        var (reason, message) = state.Iterate(progress, cancellationToken);
        return state.Result(reason, message, stopwatch.Elapsed);
    }

    private static double Norm(ReadOnlySpan<double> v)
    {
        double scale = 0;
        foreach (double x in v)
        {
            scale = Math.Max(scale, Math.Abs(x));
        }

        if (scale == 0 || double.IsInfinity(scale))
        {
            return scale;
        }

        double s = 0;
        foreach (double x in v)
        {
            double t = x / scale;
            s += t * t;
        }

        return scale * Math.Sqrt(s);
    }

    private static double SumOfSquares(ReadOnlySpan<double> v)
    {
        double norm = Norm(v);
        return norm * norm;
    }

    private sealed class State(INonlinearLeastSquaresProblem problem, LevenbergMarquardtOptions options, int m, int n)
    {
        public readonly double[] X = new double[n];
        public readonly double[] R = new double[m];
        private readonly double[] _j = new double[m * n];
        private readonly double[] _d = new double[n];
        private readonly double[] _g = new double[n];
        private readonly double[] _xTrial = new double[n];
        private readonly double[] _rTrial = new double[m];
        private readonly double[] _step = new double[n];
        private readonly double[] _work = new double[(m + n) * n];
        private readonly double[] _rhs = new double[m + n];
        private readonly double[] _rDiag = new double[n];
        private readonly double[] _jh = new double[m];
        private readonly double[] _fdPlus = new double[m];
        private readonly double[] _fdMinus = new double[m];
        private int _iterations;
        private int _evaluations;

        public void Evaluate(ReadOnlySpan<double> x, Span<double> r)
        {
            _evaluations++;
            problem.Residuals(x, r);
        }

        public (FitStopReason Reason, string Message) Iterate(IProgress<FitIteration>? progress, CancellationToken cancellationToken)
        {
            double rss = SumOfSquares(R);
            if (rss == 0)
            {
                return (FitStopReason.ZeroResidual, "The residuals are zero at the start.");
            }

            if (!ComputeJacobian(X))
            {
                return (FitStopReason.NonFinite, "The Jacobian is not finite at the start.");
            }

            UpdateScales(first: true);
            double mu = options.InitialDamping;
            double nu = 2;
            while (true)
            {
                cancellationToken.ThrowIfCancellationRequested();
                _iterations++;

                // Gradient g = Jᵀr and MINPACK's scaled gradient test.
                double rNorm = Math.Sqrt(rss);
                double gMax = 0;
                for (int j = 0; j < n; j++)
                {
                    double s = 0;
                    double colNorm = 0;
                    for (int i = 0; i < m; i++)
                    {
                        s += _j[(i * n) + j] * R[i];
                        colNorm += _j[(i * n) + j] * _j[(i * n) + j];
                    }

                    _g[j] = s;
                    colNorm = Math.Sqrt(colNorm);
                    if (colNorm > 0)
                    {
                        gMax = Math.Max(gMax, Math.Abs(s) / (colNorm * rNorm));
                    }
                }

                if (gMax <= options.GradientTolerance)
                {
                    Report(progress, rss, mu, "gradient orthogonal to residuals");
                    return (FitStopReason.SmallGradient, $"Converged: the gradient's largest cosine with the residuals is {gMax:G3} (tolerance {options.GradientTolerance:G3}).");
                }

                // Inner loop: increase the damping until a step reduces the residuals.
                while (true)
                {
                    cancellationToken.ThrowIfCancellationRequested();
                    SolveDampedStep(mu);
                    double xNorm = 0;
                    double stepNorm = 0;
                    for (int j = 0; j < n; j++)
                    {
                        _xTrial[j] = X[j] + _step[j];
                        xNorm += (_d[j] * X[j]) * (_d[j] * X[j]);
                        stepNorm += (_d[j] * _step[j]) * (_d[j] * _step[j]);
                    }

                    xNorm = Math.Sqrt(xNorm);
                    stepNorm = Math.Sqrt(stepNorm);

                    // Predicted reduction ||Jh||² + 2μ||Dh||² (never negative), relative to rss.
                    for (int i = 0; i < m; i++)
                    {
                        double s = 0;
                        for (int j = 0; j < n; j++)
                        {
                            s += _j[(i * n) + j] * _step[j];
                        }

                        _jh[i] = s;
                    }

                    double predicted = (SumOfSquares(_jh) + (2 * mu * stepNorm * stepNorm)) / rss;
                    Evaluate(_xTrial, _rTrial);
                    double rssTrial = Spans.AllFinite(_rTrial) ? SumOfSquares(_rTrial) : double.PositiveInfinity;
                    double actual = (rss - rssTrial) / rss;
                    double rho = predicted > 0 ? actual / predicted : (actual > 0 ? 1 : -1);

                    if (rho > 1e-4)
                    {
                        // Accept.
                        Array.Copy(_xTrial, X, n);
                        Array.Copy(_rTrial, R, m);
                        double previousRss = rss;
                        rss = rssTrial;
                        double t = (2 * rho) - 1;
                        mu *= Math.Max(1.0 / 3.0, 1 - (t * t * t));
                        nu = 2;
                        Report(progress, rss, mu, $"step accepted, rss reduced by {previousRss - rss:G3}");
                        if (rss == 0)
                        {
                            return (FitStopReason.ZeroResidual, "Converged: the residuals are zero.");
                        }

                        if (Math.Abs(actual) <= options.FunctionTolerance && predicted <= options.FunctionTolerance && rho <= 2)
                        {
                            ComputeJacobian(X);
                            return (FitStopReason.SmallReduction, $"Converged: the relative reduction in the residual sum of squares is {Math.Abs(actual):G3} (tolerance {options.FunctionTolerance:G3}).");
                        }

                        if (stepNorm <= options.StepTolerance * xNorm)
                        {
                            ComputeJacobian(X);
                            return (FitStopReason.SmallStep, $"Converged: the relative step is {stepNorm / Math.Max(xNorm, double.MinValue):G3} (tolerance {options.StepTolerance:G3}).");
                        }

                        if (!ComputeJacobian(X))
                        {
                            return (FitStopReason.NonFinite, "The Jacobian became non-finite; the parameters are the last finite point.");
                        }

                        UpdateScales(first: false);
                        break;
                    }

                    // Reject: more damping.
                    mu *= nu;
                    nu *= 2;
                    if (predicted <= Epsilon && Math.Abs(actual) <= Epsilon)
                    {
                        Report(progress, rss, mu, "no reduction possible at machine precision");
                        return (FitStopReason.MachinePrecision, "Converged: no step reduces the residual sum of squares at machine precision.");
                    }

                    if (stepNorm <= Epsilon * xNorm || double.IsInfinity(mu) || nu > 1e300)
                    {
                        Report(progress, rss, mu, "step at machine precision");
                        bool stationary = gMax <= Math.Sqrt(Epsilon);
                        return stationary
                            ? (FitStopReason.MachinePrecision, $"Converged: the step is at machine precision and the gradient cosine is {gMax:G3}.")
                            : (FitStopReason.Stalled, $"Not converged: no reducing step was found though the gradient cosine is {gMax:G3}.");
                    }

                    if (_evaluations >= options.MaxFunctionEvaluations)
                    {
                        return (FitStopReason.MaxFunctionEvaluations, $"Not converged: {_evaluations} residual evaluations used (limit {options.MaxFunctionEvaluations}).");
                    }
                }

                if (_iterations >= options.MaxIterations)
                {
                    return (FitStopReason.MaxIterations, $"Not converged: {_iterations} iterations used (limit {options.MaxIterations}).");
                }

                if (_evaluations >= options.MaxFunctionEvaluations)
                {
                    return (FitStopReason.MaxFunctionEvaluations, $"Not converged: {_evaluations} residual evaluations used (limit {options.MaxFunctionEvaluations}).");
                }
            }
        }

        public FitResult Result(FitStopReason reason, string message, TimeSpan elapsed)
        {
            int dof = m - n;
            double rss = SumOfSquares(R);
            var covariance = new double[n * n];
            var errors = new double[n];
            bool haveJacobian = Spans.AllFinite(_j);
            if (haveJacobian && _iterations == 0)
            {
                haveJacobian = ComputeJacobian(X);
            }

            Array.Copy(_j, _work, m * n);
            DenseQr.Factor(_work.AsSpan(0, m * n), m, n, Span<double>.Empty, _rDiag);
            bool invertible = haveJacobian && DenseQr.NormalInverse(_work, n, _rDiag, covariance);
            double sigma2 = dof > 0 ? rss / dof : double.NaN;
            for (int k = 0; k < covariance.Length; k++)
            {
                covariance[k] = invertible && dof > 0 ? covariance[k] * sigma2 : double.NaN;
            }

            for (int j = 0; j < n; j++)
            {
                errors[j] = Math.Sqrt(covariance[(j * n) + j]);
            }

            bool converged = reason is FitStopReason.ZeroResidual or FitStopReason.SmallReduction or FitStopReason.SmallStep
                or FitStopReason.SmallGradient or FitStopReason.MachinePrecision;
            if (!invertible && haveJacobian && !converged && reason != FitStopReason.NonFinite)
            {
                message += " The Jacobian is rank-deficient there, so standard errors are undefined.";
            }
            else if (!invertible && haveJacobian && reason != FitStopReason.ZeroResidual)
            {
                converged = false;
                reason = FitStopReason.RankDeficient;
                message = "Not converged: stopped where the Jacobian is rank-deficient (a parameter combination has no effect on the residuals), "
                    + "a degenerate point rather than a solution; standard errors are undefined. Try another start. (" + message + ")";
            }

            double rSquared = double.NaN;
            double mpe = double.NaN;
            if (problem is IObservedData observed)
            {
                // rᵢ = √wᵢ(fᵢ − yᵢ) ⇒ fᵢ = yᵢ + rᵢ/√wᵢ.
                double sw = 0;
                double swy = 0;
                for (int i = 0; i < m; i++)
                {
                    sw += observed.Weights[i];
                    swy += observed.Weights[i] * observed.Observed[i];
                }

                double mean = swy / sw;
                double tss = 0;
                double pct = 0;
                int counted = 0;
                for (int i = 0; i < m; i++)
                {
                    double y = observed.Observed[i];
                    tss += observed.Weights[i] * (y - mean) * (y - mean);
                    if (y != 0)
                    {
                        pct += Math.Abs(R[i] / Math.Sqrt(observed.Weights[i]) / y);
                        counted++;
                    }
                }

                rSquared = tss > 0 ? 1 - (rss / tss) : double.NaN;
                mpe = counted > 0 ? 100 * pct / counted : double.NaN;
            }

            return new FitResult
            {
                ParameterNames = problem.ParameterNames?.ToArray() ?? Enumerable.Range(1, n).Select(i => $"p{i}").ToArray(),
                Parameters = (double[])X.Clone(),
                StandardErrors = errors,
                Covariance = covariance,
                Rss = rss,
                DegreesOfFreedom = dof,
                Observations = m,
                RSquared = rSquared,
                MeanPercentageError = mpe,
                ChiSquared = rss,
                Iterations = _iterations,
                FunctionEvaluations = _evaluations,
                Converged = converged,
                StopReason = reason,
                Message = message,
                FitTime = elapsed,
                Timestamp = DateTimeOffset.UtcNow,
            };
        }

        private void Report(IProgress<FitIteration>? progress, double rss, double mu, string message) =>
            progress?.Report(new FitIteration(_iterations, rss, mu, message));

        private void SolveDampedStep(double mu)
        {
            // [J; √μ D] h = [−r; 0] in the least-squares sense.
            Array.Copy(_j, _work, m * n);
            Array.Clear(_work, m * n, n * n);
            double sqrtMu = Math.Sqrt(mu);
            for (int j = 0; j < n; j++)
            {
                _work[((m + j) * n) + j] = sqrtMu * _d[j];
            }

            for (int i = 0; i < m; i++)
            {
                _rhs[i] = -R[i];
            }

            Array.Clear(_rhs, m, n);
            DenseQr.Factor(_work, m + n, n, _rhs, _rDiag);
            if (!DenseQr.BackSubstitute(_work, n, _rDiag, _rhs, _step))
            {
                Array.Clear(_step);
            }
        }

        private void UpdateScales(bool first)
        {
            if (options.ParameterScales is { } fixedScales)
            {
                for (int j = 0; j < n; j++)
                {
                    _d[j] = fixedScales[j];
                }

                return;
            }

            for (int j = 0; j < n; j++)
            {
                double s = 0;
                for (int i = 0; i < m; i++)
                {
                    s += _j[(i * n) + j] * _j[(i * n) + j];
                }

                s = Math.Sqrt(s);
                _d[j] = first ? (s > 0 ? s : 1) : Math.Max(_d[j], s);
            }
        }

        private bool ComputeJacobian(double[] x)
        {
            if (problem.HasJacobian)
            {
                problem.Jacobian(x, _j);
                return Spans.AllFinite(_j);
            }

            bool central = options.Differences == FiniteDifferences.Central;
            double relative = central ? Math.Cbrt(Epsilon) : Math.Sqrt(Epsilon);
            var xp = (double[])x.Clone();
            for (int j = 0; j < n; j++)
            {
                double xj = x[j];
                double h = relative * (xj != 0 ? Math.Abs(xj) : 1);
                xp[j] = xj + h;
                h = xp[j] - xj;    // exactly representable step
                problem.Residuals(xp, _fdPlus);
                if (central)
                {
                    xp[j] = xj - h;
                    problem.Residuals(xp, _fdMinus);
                    for (int i = 0; i < m; i++)
                    {
                        _j[(i * n) + j] = (_fdPlus[i] - _fdMinus[i]) / (2 * h);
                    }
                }
                else
                {
                    for (int i = 0; i < m; i++)
                    {
                        _j[(i * n) + j] = (_fdPlus[i] - R[i]) / h;
                    }
                }

                xp[j] = xj;
            }

            return Spans.AllFinite(_j);
        }
    }
}
