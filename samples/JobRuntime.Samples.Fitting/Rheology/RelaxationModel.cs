namespace JobRuntime.Samples.Fitting.Rheology;

/// <summary>
/// A generalized Maxwell relaxation modulus with M modes, G(t) = Σₖ Gₖ·exp(−t/τₖ) (M = 1 is the
/// Maxwell model G0·exp(−t/τ)). Parameters are handled on the log scale (ln Gₖ, ln τₖ), which keeps
/// them positive and makes moduli spanning decades well conditioned.
/// </summary>
public sealed class RelaxationModel
{
    private RelaxationModel(int modes)
    {
        Modes = modes;
        Name = modes == 1 ? "Maxwell" : $"{modes}-mode generalized Maxwell";
        ParameterNames = modes == 1
            ? ["G0", "tau"]
            : Enumerable.Range(1, modes).SelectMany(k => new[] { $"G{k}", $"tau{k}" }).ToArray();
    }

    /// <summary>The single-mode Maxwell model G0·exp(−t/τ).</summary>
    public static RelaxationModel Maxwell { get; } = new(1);

    /// <summary>The two-mode generalized Maxwell model.</summary>
    public static RelaxationModel TwoModeMaxwell { get; } = new(2);

    /// <summary>The number of modes M.</summary>
    public int Modes { get; }

    /// <summary>The model's name.</summary>
    public string Name { get; }

    /// <summary>The number of parameters, 2M.</summary>
    public int ParameterCount => 2 * Modes;

    /// <summary>The natural-scale parameter names (G0, tau or G1, tau1, G2, tau2, …).</summary>
    public IReadOnlyList<string> ParameterNames { get; }

    /// <summary>A model with <paramref name="modes"/> modes (1 to 5).</summary>
    /// <param name="modes">The number of modes.</param>
    /// <returns>The model.</returns>
    public static RelaxationModel WithModes(int modes)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(modes, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(modes, 5);
        return modes switch { 1 => Maxwell, 2 => TwoModeMaxwell, _ => new RelaxationModel(modes) };
    }

    /// <summary>
    /// ln G(t) at log-parameters θ = (ln G₁, ln τ₁, …), writing ∂ln G/∂θ into <paramref name="gradient"/> unless it is empty.
    /// </summary>
    /// <param name="t">The time.</param>
    /// <param name="theta">The log-parameters.</param>
    /// <param name="gradient">Receives the gradient, or empty.</param>
    /// <returns>ln G(t).</returns>
    public double LogModulus(double t, ReadOnlySpan<double> theta, Span<double> gradient)
    {
        // Log-sum-exp over the modes' log terms ln Gₖ − t/τₖ.
        Span<double> terms = stackalloc double[Modes];
        double max = double.NegativeInfinity;
        for (int k = 0; k < Modes; k++)
        {
            terms[k] = theta[2 * k] - (t * Math.Exp(-theta[(2 * k) + 1]));
            max = Math.Max(max, terms[k]);
        }

        double sum = 0;
        for (int k = 0; k < Modes; k++)
        {
            sum += Math.Exp(terms[k] - max);
        }

        double logG = max + Math.Log(sum);
        if (!gradient.IsEmpty)
        {
            for (int k = 0; k < Modes; k++)
            {
                double share = Math.Exp(terms[k] - logG);      // Gₖ e^{−t/τₖ} / G
                gradient[2 * k] = share;
                gradient[(2 * k) + 1] = share * t * Math.Exp(-theta[(2 * k) + 1]);
            }
        }

        return logG;
    }

    /// <summary>G(t) on the natural scale.</summary>
    /// <param name="t">The time.</param>
    /// <param name="parameters">The natural-scale parameters (G₁, τ₁, …).</param>
    /// <returns>The modulus.</returns>
    public double Modulus(double t, IReadOnlyList<double> parameters) => Math.Exp(LogModulus(t, ToLog(parameters), Span<double>.Empty));

    /// <summary>Natural-scale parameters to log-parameters.</summary>
    /// <param name="parameters">G₁, τ₁, … (positive).</param>
    /// <returns>ln G₁, ln τ₁, ….</returns>
    public double[] ToLog(IReadOnlyList<double> parameters)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        if (parameters.Count != ParameterCount || parameters.Any(p => !(p > 0) || double.IsInfinity(p)))
        {
            throw new ArgumentException($"The {Name} model needs {ParameterCount} positive parameters ({string.Join(", ", ParameterNames)}).", nameof(parameters));
        }

        return parameters.Select(v => Math.Log(v)).ToArray();
    }

    /// <summary>A starting guess from the data: modes' times spread over the measured decades, moduli sharing G(t₀).</summary>
    /// <param name="data">The data.</param>
    /// <returns>Log-parameters.</returns>
    public double[] InitialGuess(RelaxationData data)
    {
        ArgumentNullException.ThrowIfNull(data);
        double tMin = data.Time.Min();
        double tMax = data.Time.Max();
        double g0 = data.Modulus[data.Time.ToList().IndexOf(tMin)];
        var theta = new double[ParameterCount];
        for (int k = 0; k < Modes; k++)
        {
            double fraction = (k + 1.0) / (Modes + 1.0);
            double tau = Math.Exp(Math.Log(tMin) + (fraction * (Math.Log(tMax) - Math.Log(tMin))));
            theta[2 * k] = Math.Log(g0 / Modes);
            theta[(2 * k) + 1] = Math.Log(tau);
        }

        return theta;
    }

    /// <summary>Log-spaced times covering the modes' relaxation (from τ_min/30 to 5·τ_max).</summary>
    /// <param name="parameters">Natural-scale parameters.</param>
    /// <param name="points">The number of times.</param>
    /// <returns>The times.</returns>
    public double[] SuggestedTimes(IReadOnlyList<double> parameters, int points)
    {
        var taus = Enumerable.Range(0, Modes).Select(k => parameters[(2 * k) + 1]).ToArray();
        double lo = Math.Log(taus.Min() / 30);
        double hi = Math.Log(taus.Max() * 5);
        return Enumerable.Range(0, points).Select(i => Math.Exp(lo + ((hi - lo) * i / (points - 1)))).ToArray();
    }
}
