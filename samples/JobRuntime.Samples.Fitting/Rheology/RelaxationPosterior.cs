using JobRuntime.Samples.Fitting.Nuts;

namespace JobRuntime.Samples.Fitting.Rheology;

/// <summary>
/// The posterior of a relaxation model under multiplicative noise: ln yᵢ ~ N(ln G(tᵢ; θ), σ²).
/// Sampled on an unconstrained scale: ln Gₖ, ln τ₁, then ln(ln τₖ − ln τₖ₋₁) for k ≥ 2 (so the
/// modes stay ordered and cannot swap labels), and ln σ; the transform's log-Jacobian is included.
/// Priors are weak: ln Gₖ, ln τₖ ~ N(0, 20²), ln σ ~ N(0, 5²).
/// </summary>
public sealed class RelaxationPosterior : ILogDensity
{
    private const double ParameterPriorSd = 20;
    private const double NoisePriorSd = 5;
    private readonly RelaxationModel _model;
    private readonly double[] _t;
    private readonly double[] _logY;

    /// <summary>Creates the posterior of <paramref name="model"/> given <paramref name="data"/>.</summary>
    /// <param name="model">The model.</param>
    /// <param name="data">The data.</param>
    public RelaxationPosterior(RelaxationModel model, RelaxationData data)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(data);
        data.RequireEnoughFor(model);
        _model = model;
        _t = data.Time.ToArray();
        _logY = data.Modulus.Select(v => Math.Log(v)).ToArray();
        int m = model.Modes;
        var names = new List<string>();
        for (int k = 1; k <= m; k++)
        {
            names.Add(m == 1 ? "log_G0" : $"log_G{k}");
            names.Add(k == 1 ? (m == 1 ? "log_tau" : "log_tau1") : $"log_gap{k}");
        }

        names.Add("log_sigma");
        ParameterNames = names;
        OutputNames = [.. model.ParameterNames, "sigma"];
    }

    /// <inheritdoc />
    public int Dimension => _model.ParameterCount + 1;

    /// <inheritdoc />
    public IReadOnlyList<string> ParameterNames { get; }

    /// <inheritdoc />
    public IReadOnlyList<string> OutputNames { get; }

    /// <summary>Maps log-parameters (ln G₁, ln τ₁, …; modes sorted by τ) and ln σ to the sampler's unconstrained point.</summary>
    /// <param name="theta">Log-parameters.</param>
    /// <param name="logSigma">ln σ.</param>
    /// <returns>The unconstrained point.</returns>
    public double[] ToUnconstrained(IReadOnlyList<double> theta, double logSigma)
    {
        ArgumentNullException.ThrowIfNull(theta);
        var u = new double[Dimension];
        for (int k = 0; k < _model.Modes; k++)
        {
            u[2 * k] = theta[2 * k];
            u[(2 * k) + 1] = k == 0 ? theta[1] : Math.Log(Math.Max(theta[(2 * k) + 1] - theta[(2 * k) - 1], 1e-3));
        }

        u[^1] = logSigma;
        return u;
    }

    /// <summary>Diagonal variances on the unconstrained scale from a log-parameter covariance (row-major) and the residual degrees of freedom.</summary>
    /// <param name="theta">Log-parameters, modes sorted by τ.</param>
    /// <param name="covariance">Their covariance, row-major.</param>
    /// <param name="degreesOfFreedom">Residual degrees of freedom of the fit.</param>
    /// <returns>One variance per unconstrained coordinate.</returns>
    public double[] UnconstrainedVariances(IReadOnlyList<double> theta, IReadOnlyList<double> covariance, int degreesOfFreedom)
    {
        ArgumentNullException.ThrowIfNull(theta);
        ArgumentNullException.ThrowIfNull(covariance);
        int n = _model.ParameterCount;
        double Var(int j) => covariance[(j * n) + j];
        var v = new double[Dimension];
        for (int k = 0; k < _model.Modes; k++)
        {
            v[2 * k] = Var(2 * k);
            if (k == 0)
            {
                v[1] = Var(1);
            }
            else
            {
                double gap = Math.Max(theta[(2 * k) + 1] - theta[(2 * k) - 1], 1e-3);
                v[(2 * k) + 1] = (Var((2 * k) + 1) + Var((2 * k) - 1)) / (gap * gap);
            }
        }

        v[^1] = 1.0 / (2 * Math.Max(degreesOfFreedom, 1));
        for (int i = 0; i < v.Length; i++)
        {
            v[i] = double.IsFinite(v[i]) ? Math.Clamp(v[i], 1e-8, 100) : 1;
        }

        return v;
    }

    /// <inheritdoc />
    public double LogDensity(ReadOnlySpan<double> u, Span<double> gradient)
    {
        int n = _model.ParameterCount;
        Span<double> theta = stackalloc double[n];
        Span<double> gTheta = stackalloc double[n];
        Span<double> gPoint = stackalloc double[n];
        double lp = 0;
        for (int k = 0; k < _model.Modes; k++)
        {
            theta[2 * k] = u[2 * k];
            theta[(2 * k) + 1] = k == 0 ? u[1] : theta[(2 * k) - 1] + Math.Exp(u[(2 * k) + 1]);
            if (k > 0)
            {
                lp += u[(2 * k) + 1];    // log-Jacobian of the gap transform
            }
        }

        double s = u[n];
        double precision = Math.Exp(-2 * s);
        gTheta.Clear();
        double gS = 0;
        for (int i = 0; i < _t.Length; i++)
        {
            double r = _model.LogModulus(_t[i], theta, gPoint) - _logY[i];
            lp -= s + (0.5 * r * r * precision);
            gS += -1 + (r * r * precision);
            for (int j = 0; j < n; j++)
            {
                gTheta[j] -= r * precision * gPoint[j];
            }
        }

        const double pv = ParameterPriorSd * ParameterPriorSd;
        for (int j = 0; j < n; j++)
        {
            lp -= 0.5 * theta[j] * theta[j] / pv;
            gTheta[j] -= theta[j] / pv;
        }

        lp -= 0.5 * s * s / (NoisePriorSd * NoisePriorSd);
        gS -= s / (NoisePriorSd * NoisePriorSd);

        // Chain rule back to u: ln τₖ = u₁ + Σ_{j=2..k} exp(u_gap_j).
        for (int k = 0; k < _model.Modes; k++)
        {
            gradient[2 * k] = gTheta[2 * k];
            double tail = 0;
            for (int l = k; l < _model.Modes; l++)
            {
                tail += gTheta[(2 * l) + 1];
            }

            gradient[(2 * k) + 1] = k == 0 ? tail : (Math.Exp(u[(2 * k) + 1]) * tail) + 1;
        }

        gradient[n] = gS;
        return lp;
    }

    /// <inheritdoc />
    public void WriteOutput(ReadOnlySpan<double> u, Span<double> output)
    {
        double logTau = 0;
        for (int k = 0; k < _model.Modes; k++)
        {
            logTau = k == 0 ? u[1] : logTau + Math.Exp(u[(2 * k) + 1]);
            output[2 * k] = Math.Exp(u[2 * k]);
            output[(2 * k) + 1] = Math.Exp(logTau);
        }

        output[_model.ParameterCount] = Math.Exp(u[_model.ParameterCount]);
    }
}
