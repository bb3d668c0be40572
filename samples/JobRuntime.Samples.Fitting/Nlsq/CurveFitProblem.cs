namespace JobRuntime.Samples.Fitting.Nlsq;

/// <summary>Evaluates a curve model y = f(x; p) at one observation's predictor values.</summary>
/// <param name="x">The predictor values of one observation (one element per x column).</param>
/// <param name="parameters">The parameters p.</param>
public delegate double CurveModel(ReadOnlySpan<double> x, ReadOnlySpan<double> parameters);

/// <summary>Writes ∂f/∂pⱼ of a curve model at one observation into <paramref name="gradient"/>.</summary>
/// <param name="x">The predictor values of one observation.</param>
/// <param name="parameters">The parameters p.</param>
/// <param name="gradient">Receives one derivative per parameter.</param>
public delegate void CurveModelGradient(ReadOnlySpan<double> x, ReadOnlySpan<double> parameters, Span<double> gradient);

/// <summary>
/// Fits a curve y = f(x; p) with one or several predictor columns to observations, optionally
/// weighted: the residuals are √wᵢ·(f(xᵢ; p) − yᵢ).
/// </summary>
public sealed class CurveFitProblem : INonlinearLeastSquaresProblem, IObservedData
{
    private readonly double[] _x;
    private readonly double[] _y;
    private readonly double[] _sqrtW;
    private readonly double[] _w;
    private readonly CurveModel _model;
    private readonly CurveModelGradient? _gradient;

    /// <summary>Creates a problem with one predictor column.</summary>
    /// <param name="x">The predictor values.</param>
    /// <param name="y">The observed values, as many as <paramref name="x"/>.</param>
    /// <param name="parameterCount">The number of model parameters.</param>
    /// <param name="model">The model f(x; p).</param>
    /// <param name="gradient">Its analytic gradient in p, or <see langword="null"/> for numerical differences.</param>
    /// <param name="weights">Optional positive weights (for example 1/σᵢ²).</param>
    /// <param name="parameterNames">Optional parameter names.</param>
    public CurveFitProblem(
        IReadOnlyList<double> x,
        IReadOnlyList<double> y,
        int parameterCount,
        CurveModel model,
        CurveModelGradient? gradient = null,
        IReadOnlyList<double>? weights = null,
        IReadOnlyList<string>? parameterNames = null)
        : this(ToColumns(x), y, parameterCount, model, gradient, weights, parameterNames)
    {
    }

    /// <summary>Creates a problem with several predictor columns.</summary>
    /// <param name="columns">The predictor columns, each as long as <paramref name="y"/>.</param>
    /// <param name="y">The observed values.</param>
    /// <param name="parameterCount">The number of model parameters.</param>
    /// <param name="model">The model f(x; p); x holds one value per column.</param>
    /// <param name="gradient">Its analytic gradient in p, or <see langword="null"/> for numerical differences.</param>
    /// <param name="weights">Optional positive weights.</param>
    /// <param name="parameterNames">Optional parameter names.</param>
    public CurveFitProblem(
        IReadOnlyList<IReadOnlyList<double>> columns,
        IReadOnlyList<double> y,
        int parameterCount,
        CurveModel model,
        CurveModelGradient? gradient = null,
        IReadOnlyList<double>? weights = null,
        IReadOnlyList<string>? parameterNames = null)
    {
        ArgumentNullException.ThrowIfNull(columns);
        ArgumentNullException.ThrowIfNull(y);
        ArgumentNullException.ThrowIfNull(model);
        ArgumentOutOfRangeException.ThrowIfLessThan(parameterCount, 1);
        if (columns.Count == 0)
        {
            throw new ArgumentException("At least one predictor column is required.", nameof(columns));
        }

        int m = y.Count;
        if (m < parameterCount)
        {
            throw new ArgumentException(
                $"{m} observations cannot determine {parameterCount} parameters; at least {parameterCount} are needed.", nameof(y));
        }

        if (parameterNames is not null && parameterNames.Count != parameterCount)
        {
            throw new ArgumentException($"{parameterNames.Count} names were given for {parameterCount} parameters.", nameof(parameterNames));
        }

        XColumnCount = columns.Count;
        _x = new double[m * XColumnCount];
        for (int c = 0; c < XColumnCount; c++)
        {
            var column = columns[c] ?? throw new ArgumentException($"Predictor column {c} is null.", nameof(columns));
            if (column.Count != m)
            {
                throw new ArgumentException($"Predictor column {c} has {column.Count} values but there are {m} observations.", nameof(columns));
            }

            for (int i = 0; i < m; i++)
            {
                _x[(i * XColumnCount) + c] = RequireFinite(column[i], $"x[{i}, {c}]", nameof(columns));
            }
        }

        _y = new double[m];
        _w = new double[m];
        _sqrtW = new double[m];
        if (weights is not null && weights.Count != m)
        {
            throw new ArgumentException($"{weights.Count} weights were given for {m} observations.", nameof(weights));
        }

        for (int i = 0; i < m; i++)
        {
            _y[i] = RequireFinite(y[i], $"y[{i}]", nameof(y));
            double w = weights is null ? 1.0 : weights[i];
            if (!(w > 0) || double.IsInfinity(w))
            {
                throw new ArgumentException($"Weight {i} is {w}; weights must be positive and finite.", nameof(weights));
            }

            _w[i] = w;
            _sqrtW[i] = Math.Sqrt(w);
        }

        ParameterCount = parameterCount;
        ParameterNames = parameterNames;
        _model = model;
        _gradient = gradient;
    }

    /// <summary>The number of predictor columns.</summary>
    public int XColumnCount { get; }

    /// <inheritdoc />
    public int ResidualCount => _y.Length;

    /// <inheritdoc />
    public int ParameterCount { get; }

    /// <inheritdoc />
    public IReadOnlyList<string>? ParameterNames { get; }

    /// <inheritdoc />
    public bool HasJacobian => _gradient is not null;

    /// <inheritdoc />
    public IReadOnlyList<double> Observed => _y;

    /// <inheritdoc />
    public IReadOnlyList<double> Weights => _w;

    /// <summary>The predictor values of observation <paramref name="index"/>.</summary>
    /// <param name="index">The observation index.</param>
    public ReadOnlySpan<double> X(int index) => _x.AsSpan(index * XColumnCount, XColumnCount);

    /// <summary>Evaluates the model at observation <paramref name="index"/>.</summary>
    /// <param name="index">The observation index.</param>
    /// <param name="parameters">The parameters.</param>
    public double Predict(int index, ReadOnlySpan<double> parameters) => _model(X(index), parameters);

    /// <inheritdoc />
    public void Residuals(ReadOnlySpan<double> parameters, Span<double> residuals)
    {
        for (int i = 0; i < _y.Length; i++)
        {
            residuals[i] = _sqrtW[i] * (_model(X(i), parameters) - _y[i]);
        }
    }

    /// <inheritdoc />
    public void Jacobian(ReadOnlySpan<double> parameters, Span<double> jacobian)
    {
        if (_gradient is null)
        {
            throw new NotSupportedException("This curve has no analytic gradient; HasJacobian is false.");
        }

        int n = ParameterCount;
        for (int i = 0; i < _y.Length; i++)
        {
            var row = jacobian.Slice(i * n, n);
            _gradient(X(i), parameters, row);
            for (int j = 0; j < n; j++)
            {
                row[j] *= _sqrtW[i];
            }
        }
    }

    private static IReadOnlyList<double>[] ToColumns(IReadOnlyList<double> x)
    {
        ArgumentNullException.ThrowIfNull(x);
        return [x];
    }

    private static double RequireFinite(double value, string what, string parameter) =>
        double.IsFinite(value) ? value : throw new ArgumentException($"{what} is {value}; every value must be finite.", parameter);
}
