namespace JobRuntime.Samples.Fitting.Nuts.Models;

/// <summary>A bivariate normal with means mu, standard deviations sd and correlation rho.</summary>
public sealed class Gaussian2D(double[] mu, double[] sd, double rho) : ILogDensity
{
    /// <inheritdoc />
    public int Dimension => 2;

    /// <inheritdoc />
    public IReadOnlyList<string> ParameterNames { get; } = ["x[1]", "x[2]"];

    /// <inheritdoc />
    public double LogDensity(ReadOnlySpan<double> x, Span<double> g)
    {
        double a = (x[0] - mu[0]) / sd[0];
        double b = (x[1] - mu[1]) / sd[1];
        double k = 1 / (1 - (rho * rho));
        g[0] = -k * (a - (rho * b)) / sd[0];
        g[1] = -k * (b - (rho * a)) / sd[1];
        return -0.5 * k * ((a * a) - (2 * rho * a * b) + (b * b));
    }
}

/// <summary>Independent zero-mean normals with the given standard deviations.</summary>
public sealed class IndependentNormal(double[] sd) : ILogDensity
{
    /// <inheritdoc />
    public int Dimension => sd.Length;

    /// <inheritdoc />
    public IReadOnlyList<string> ParameterNames { get; } = Enumerable.Range(1, sd.Length).Select(i => $"x[{i}]").ToArray();

    /// <inheritdoc />
    public double LogDensity(ReadOnlySpan<double> x, Span<double> g)
    {
        double lp = 0;
        for (int i = 0; i < sd.Length; i++)
        {
            double z = x[i] / sd[i];
            lp -= 0.5 * z * z;
            g[i] = -z / sd[i];
        }

        return lp;
    }
}

/// <summary>The mean mu of normal data y with known sigma under a N(m0, s0²) prior.</summary>
public sealed class ConjugateNormal(double[] y, double sigma, double m0, double s0) : ILogDensity
{
    /// <inheritdoc />
    public int Dimension => 1;

    /// <inheritdoc />
    public IReadOnlyList<string> ParameterNames { get; } = ["mu"];

    /// <inheritdoc />
    public double LogDensity(ReadOnlySpan<double> x, Span<double> g)
    {
        double mu = x[0];
        double lp = -0.5 * (mu - m0) * (mu - m0) / (s0 * s0);
        double grad = -(mu - m0) / (s0 * s0);
        foreach (double v in y)
        {
            lp -= 0.5 * (v - mu) * (v - mu) / (sigma * sigma);
            grad += (v - mu) / (sigma * sigma);
        }

        g[0] = grad;
        return lp;
    }
}

/// <summary>theta ~ Beta(a0 + k, b0 + N − k), sampled as u = logit(theta) with the Jacobian θ(1 − θ).</summary>
public sealed class BetaBinomialLogit(double a0, double b0, int k, int n) : ILogDensity
{
    /// <inheritdoc />
    public int Dimension => 1;

    /// <inheritdoc />
    public IReadOnlyList<string> ParameterNames { get; } = ["logit_theta"];

    /// <inheritdoc />
    public IReadOnlyList<string> OutputNames { get; } = ["theta"];

    /// <inheritdoc />
    public double LogDensity(ReadOnlySpan<double> x, Span<double> g)
    {
        double u = x[0];
        double logTheta = -Softplus(-u);
        double log1mTheta = -Softplus(u);
        double theta = 1 / (1 + Math.Exp(-u));
        double a = k + a0;
        double b = n - k + b0;
        g[0] = (a * (1 - theta)) - (b * theta);
        return (a * logTheta) + (b * log1mTheta);
    }

    /// <inheritdoc />
    public void WriteOutput(ReadOnlySpan<double> x, Span<double> output) => output[0] = 1 / (1 + Math.Exp(-x[0]));

    private static double Softplus(double v) => v > 0 ? v + Math.Log(1 + Math.Exp(-v)) : Math.Log(1 + Math.Exp(v));
}

/// <summary>Neal's funnel in 10 dimensions: v ~ N(0, 3²), x_k | v ~ N(0, e^v).</summary>
public sealed class NealFunnel(bool nonCentered) : ILogDensity
{
    /// <inheritdoc />
    public int Dimension => 10;

    /// <inheritdoc />
    public IReadOnlyList<string> ParameterNames { get; } = ["v", .. Enumerable.Range(1, 9).Select(i => $"x[{i}]")];

    /// <inheritdoc />
    public double LogDensity(ReadOnlySpan<double> x, Span<double> g)
    {
        double v = x[0];
        double lp = -v * v / 18;
        g[0] = -v / 9;
        if (nonCentered)
        {
            for (int i = 1; i < 10; i++)
            {
                lp -= 0.5 * x[i] * x[i];
                g[i] = -x[i];
            }

            return lp;
        }

        double precision = Math.Exp(-v);
        for (int i = 1; i < 10; i++)
        {
            lp += (-0.5 * x[i] * x[i] * precision) - (0.5 * v);
            g[i] = -x[i] * precision;
            g[0] += (0.5 * x[i] * x[i] * precision) - 0.5;
        }

        return lp;
    }
}

/// <summary>
/// Eight schools, non-centred: mu ~ N(0, 5), tau ~ half-Cauchy(0, 5) sampled as log tau (with its
/// Jacobian), z_j ~ N(0, 1), theta_j = mu + tau z_j, y_j ~ N(theta_j, sigma_j).
/// </summary>
public sealed class EightSchools(double[] y, double[] sigma) : ILogDensity
{
    /// <inheritdoc />
    public int Dimension => 2 + y.Length;

    /// <inheritdoc />
    public IReadOnlyList<string> ParameterNames { get; } = ["mu", "log_tau", .. Enumerable.Range(1, y.Length).Select(i => $"z[{i}]")];

    /// <inheritdoc />
    public IReadOnlyList<string> OutputNames { get; } = ["mu", "tau", .. Enumerable.Range(1, y.Length).Select(i => $"theta[{i}]")];

    /// <inheritdoc />
    public double LogDensity(ReadOnlySpan<double> x, Span<double> g)
    {
        double mu = x[0];
        double logTau = x[1];
        double tau = Math.Exp(logTau);

        // mu ~ N(0, 5); tau ~ half-Cauchy(0, 5): log p = −log(1 + (tau/5)²); Jacobian adds log tau.
        double lp = (-0.5 * mu * mu / 25) - Math.Log(1 + (tau * tau / 25)) + logTau;
        g[0] = -mu / 25;
        g[1] = (-2 * tau * tau / 25 / (1 + (tau * tau / 25))) + 1;
        for (int j = 0; j < y.Length; j++)
        {
            double z = x[2 + j];
            double theta = mu + (tau * z);
            double r = (y[j] - theta) / (sigma[j] * sigma[j]);
            lp += (-0.5 * z * z) - (0.5 * (y[j] - theta) * (y[j] - theta) / (sigma[j] * sigma[j]));
            g[0] += r;
            g[1] += r * tau * z;
            g[2 + j] = -z + (r * tau);
        }

        return lp;
    }

    /// <inheritdoc />
    public void WriteOutput(ReadOnlySpan<double> x, Span<double> output)
    {
        double tau = Math.Exp(x[1]);
        output[0] = x[0];
        output[1] = tau;
        for (int j = 0; j < y.Length; j++)
        {
            output[2 + j] = x[0] + (tau * x[2 + j]);
        }
    }
}
