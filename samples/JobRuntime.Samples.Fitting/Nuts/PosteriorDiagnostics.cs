namespace JobRuntime.Samples.Fitting.Nuts;

/// <summary>
/// Convergence diagnostics and summaries for MCMC draws, following Vehtari, Gelman, Simpson,
/// Carpenter and Bürkner (2021), "Rank-normalization, folding, and localization: an improved R-hat":
/// rank-normalised split R-hat, bulk and tail effective sample sizes, Monte Carlo standard errors,
/// quantiles and the highest-density interval. Usable on any draws: each argument is a list of
/// chains, each chain a list of draws of one scalar quantity.
/// </summary>
public static class PosteriorDiagnostics
{
    /// <summary>
    /// Rank-normalised split R-hat: the larger of the split R-hat of the rank-normalised draws and
    /// of the rank-normalised folded draws |x − median|. Below 1.01 indicates convergence.
    /// </summary>
    /// <param name="chains">The draws, one list per chain (all of the same length, at least 4).</param>
    /// <returns>R-hat, or NaN when the draws are constant.</returns>
    public static double RHat(IReadOnlyList<IReadOnlyList<double>> chains)
    {
        var split = Split(chains);
        double bulk = BasicRHat(RankNormalize(split));
        double median = Quantile(Pool(split), 0.5);
        var folded = split.Select(c => c.Select(v => Math.Abs(v - median)).ToArray()).ToArray();
        double tail = BasicRHat(RankNormalize(folded));
        return Math.Max(bulk, tail);
    }

    /// <summary>The classic split R-hat (Gelman et al., BDA3) without rank normalisation.</summary>
    /// <param name="chains">The draws, one list per chain.</param>
    /// <returns>Split R-hat.</returns>
    public static double SplitRHat(IReadOnlyList<IReadOnlyList<double>> chains) => BasicRHat(Split(chains));

    /// <summary>Bulk effective sample size: the ESS of the rank-normalised split chains.</summary>
    /// <param name="chains">The draws, one list per chain.</param>
    /// <returns>The bulk ESS.</returns>
    public static double EssBulk(IReadOnlyList<IReadOnlyList<double>> chains) => BasicEss(RankNormalize(Split(chains)));

    /// <summary>
    /// Tail effective sample size: the smaller of the ESS of the indicators x ≤ q₅% and x ≤ q₉₅%
    /// (split chains), which governs the precision of the 5% and 95% quantiles.
    /// </summary>
    /// <param name="chains">The draws, one list per chain.</param>
    /// <returns>The tail ESS.</returns>
    public static double EssTail(IReadOnlyList<IReadOnlyList<double>> chains) =>
        Math.Min(EssQuantile(chains, 0.05), EssQuantile(chains, 0.95));

    /// <summary>The ESS for the 5%…95% quantile <paramref name="probability"/>.</summary>
    /// <param name="chains">The draws, one list per chain.</param>
    /// <param name="probability">The quantile's probability, in (0, 1).</param>
    /// <returns>The ESS of the indicator x ≤ q.</returns>
    public static double EssQuantile(IReadOnlyList<IReadOnlyList<double>> chains, double probability)
    {
        double q = Quantile(Pool(chains.Select(c => c.ToArray()).ToArray()), probability);
        var indicators = chains.Select(c => c.Select(v => v <= q ? 1.0 : 0.0).ToArray()).ToArray();
        return BasicEss(Split(indicators));
    }

    /// <summary>The ESS for the mean: the ESS of the split chains on the original scale.</summary>
    /// <param name="chains">The draws, one list per chain.</param>
    /// <returns>The ESS.</returns>
    public static double EssMean(IReadOnlyList<IReadOnlyList<double>> chains) => BasicEss(Split(chains));

    /// <summary>The Monte Carlo standard error of the mean: sd / √ESS(mean).</summary>
    /// <param name="chains">The draws, one list per chain.</param>
    /// <returns>The MCSE.</returns>
    public static double McseMean(IReadOnlyList<IReadOnlyList<double>> chains)
    {
        var pooled = Pool(chains.Select(c => c.ToArray()).ToArray());
        return StandardDeviation(pooled) / Math.Sqrt(EssMean(chains));
    }

    /// <summary>The sample quantile (linear interpolation between order statistics, R's type 7).</summary>
    /// <param name="values">The draws.</param>
    /// <param name="probability">The probability, in [0, 1].</param>
    /// <returns>The quantile.</returns>
    public static double Quantile(IReadOnlyList<double> values, double probability)
    {
        ArgumentNullException.ThrowIfNull(values);
        if (values.Count == 0)
        {
            throw new ArgumentException("There are no values.", nameof(values));
        }

        if (!(probability >= 0 && probability <= 1))
        {
            throw new ArgumentOutOfRangeException(nameof(probability), probability, "The probability must be in [0, 1].");
        }

        var sorted = values.ToArray();
        Array.Sort(sorted);
        double h = (sorted.Length - 1) * probability;
        int lo = (int)Math.Floor(h);
        int hi = Math.Min(lo + 1, sorted.Length - 1);
        return sorted[lo] + ((h - lo) * (sorted[hi] - sorted[lo]));
    }

    /// <summary>
    /// The highest-density interval: the shortest interval [s(i), s(i+k)] between sorted draws with
    /// k = ⌊probability·N⌋ (the first such when several are equally short).
    /// </summary>
    /// <param name="values">The draws.</param>
    /// <param name="probability">The mass, in (0, 1). Default 0.95.</param>
    /// <returns>The interval's lower and upper bounds.</returns>
    public static (double Lower, double Upper) Hdi(IReadOnlyList<double> values, double probability = 0.95)
    {
        ArgumentNullException.ThrowIfNull(values);
        if (!(probability > 0 && probability < 1))
        {
            throw new ArgumentOutOfRangeException(nameof(probability), probability, "The probability must be in (0, 1).");
        }

        var sorted = values.ToArray();
        Array.Sort(sorted);
        int n = sorted.Length;
        int k = (int)Math.Floor(probability * n);
        if (n < 2 || k < 1 || k >= n)
        {
            throw new ArgumentException($"{n} draws are too few for a {probability:P0} interval.", nameof(values));
        }

        int best = 0;
        double width = double.PositiveInfinity;
        for (int i = 0; i < n - k; i++)
        {
            double w = sorted[i + k] - sorted[i];
            if (w < width)
            {
                width = w;
                best = i;
            }
        }

        return (sorted[best], sorted[best + k]);
    }

    /// <summary>The sample standard deviation (n − 1 denominator).</summary>
    /// <param name="values">The values.</param>
    /// <returns>The standard deviation.</returns>
    public static double StandardDeviation(IReadOnlyList<double> values)
    {
        ArgumentNullException.ThrowIfNull(values);
        double mean = values.Average();
        double ss = 0;
        foreach (double v in values)
        {
            ss += (v - mean) * (v - mean);
        }

        return Math.Sqrt(ss / (values.Count - 1));
    }

    internal static double[][] Split(IReadOnlyList<IReadOnlyList<double>> chains)
    {
        ArgumentNullException.ThrowIfNull(chains);
        if (chains.Count == 0)
        {
            throw new ArgumentException("There are no chains.", nameof(chains));
        }

        int n = chains[0].Count;
        if (chains.Any(c => c.Count != n))
        {
            throw new ArgumentException("Every chain must hold the same number of draws.", nameof(chains));
        }

        if (n < 4)
        {
            throw new ArgumentException($"Chains of {n} draws are too short; at least 4 are needed.", nameof(chains));
        }

        // An odd middle draw is dropped, as in the reference implementations.
        int half = n / 2;
        var split = new double[chains.Count * 2][];
        for (int c = 0; c < chains.Count; c++)
        {
            var chain = chains[c];
            split[2 * c] = Enumerable.Range(0, half).Select(i => chain[i]).ToArray();
            split[(2 * c) + 1] = Enumerable.Range(n - half, half).Select(i => chain[i]).ToArray();
        }

        return split;
    }

    internal static double[][] RankNormalize(double[][] chains)
    {
        // z = Φ⁻¹((r − 3/8)/(S + 1/4)) with average ranks r over all S pooled draws.
        int total = chains.Sum(c => c.Length);
        var index = new (double Value, int Chain, int Draw)[total];
        int k = 0;
        for (int c = 0; c < chains.Length; c++)
        {
            for (int i = 0; i < chains[c].Length; i++)
            {
                index[k++] = (chains[c][i], c, i);
            }
        }

        Array.Sort(index, (a, b) => a.Value.CompareTo(b.Value));
        var result = chains.Select(c => new double[c.Length]).ToArray();
        int start = 0;
        while (start < total)
        {
            int end = start;
            while (end + 1 < total && index[end + 1].Value == index[start].Value)
            {
                end++;
            }

            double rank = ((start + end) / 2.0) + 1;
            double z = NormalQuantile((rank - 0.375) / (total + 0.25));
            for (int j = start; j <= end; j++)
            {
                result[index[j].Chain][index[j].Draw] = z;
            }

            start = end + 1;
        }

        return result;
    }

    internal static double BasicRHat(double[][] chains)
    {
        int n = chains[0].Length;
        var means = chains.Select(c => c.Average()).ToArray();
        double grand = means.Average();
        double b = n * means.Sum(m => (m - grand) * (m - grand)) / (chains.Length - 1);
        double w = chains.Select((c, i) => c.Sum(v => (v - means[i]) * (v - means[i])) / (n - 1)).Average();
        double varHat = ((n - 1.0) / n * w) + (b / n);
        return w > 0 ? Math.Sqrt(varHat / w) : double.NaN;
    }

    internal static double BasicEss(double[][] chains)
    {
        int m = chains.Length;
        int n = chains[0].Length;
        if (n < 3)
        {
            return double.NaN;
        }

        var means = chains.Select(c => c.Average()).ToArray();

        // Biased autocovariance (divisor n) at a lag, averaged over chains.
        double MeanAcov(int lag)
        {
            double total = 0;
            for (int c = 0; c < m; c++)
            {
                var x = chains[c];
                double mean = means[c];
                double s = 0;
                for (int t = 0; t + lag < n; t++)
                {
                    s += (x[t] - mean) * (x[t + lag] - mean);
                }

                total += s / n;
            }

            return total / m;
        }

        double acov0 = MeanAcov(0);
        double meanVar = acov0 * n / (n - 1);
        double varPlus = meanVar * (n - 1) / n;
        if (m > 1)
        {
            double grand = means.Average();
            varPlus += means.Sum(v => (v - grand) * (v - grand)) / (m - 1);
        }

        if (!(varPlus > 0))
        {
            return double.NaN;
        }

        // Geyer's initial positive sequence on paired autocorrelations.
        var rho = new double[n];
        int t0 = 0;
        double rhoEven = 1;
        double rhoOdd = 1 - ((meanVar - MeanAcov(1)) / varPlus);
        rho[0] = rhoEven;
        rho[1] = rhoOdd;
        while (t0 < n - 5 && !double.IsNaN(rhoEven + rhoOdd) && rhoEven + rhoOdd > 0)
        {
            t0 += 2;
            rhoEven = 1 - ((meanVar - MeanAcov(t0)) / varPlus);
            rhoOdd = 1 - ((meanVar - MeanAcov(t0 + 1)) / varPlus);
            if (rhoEven + rhoOdd >= 0)
            {
                rho[t0] = rhoEven;
                rho[t0 + 1] = rhoOdd;
            }
        }

        int maxT = t0;
        if (rhoEven > 0)
        {
            rho[maxT] = rhoEven;
        }

        // Geyer's initial monotone sequence.
        for (int t = 2; t <= maxT - 2; t += 2)
        {
            if (rho[t] + rho[t + 1] > rho[t - 2] + rho[t - 1])
            {
                rho[t] = (rho[t - 2] + rho[t - 1]) / 2;
                rho[t + 1] = rho[t];
            }
        }

        double draws = (double)m * n;
        double tau = -1 + rho[maxT];
        for (int t = 0; t < maxT; t++)
        {
            tau += 2 * rho[t];
        }

        tau = Math.Max(tau, 1 / Math.Log10(draws));
        return draws / tau;
    }

    internal static double[] Pool(double[][] chains) => chains.SelectMany(c => c).ToArray();

    /// <summary>The standard normal quantile Φ⁻¹(p) (Acklam's rational approximation, relative error below 1.2e-9).</summary>
    internal static double NormalQuantile(double p)
    {
        if (p <= 0)
        {
            return double.NegativeInfinity;
        }

        if (p >= 1)
        {
            return double.PositiveInfinity;
        }

        const double low = 0.02425;
        ReadOnlySpan<double> a = [-3.969683028665376e+01, 2.209460984245205e+02, -2.759285104469687e+02, 1.383577518672690e+02, -3.066479806614716e+01, 2.506628277459239e+00];
        ReadOnlySpan<double> b = [-5.447609879822406e+01, 1.615858368580409e+02, -1.556989798598866e+02, 6.680131188771972e+01, -1.328068155288572e+01];
        ReadOnlySpan<double> c = [-7.784894002430293e-03, -3.223964580411365e-01, -2.400758277161838e+00, -2.549732539343734e+00, 4.374664141464968e+00, 2.938163982698783e+00];
        ReadOnlySpan<double> d = [7.784695709041462e-03, 3.224671290700398e-01, 2.445134137142996e+00, 3.754408661907416e+00];
        if (p < low || p > 1 - low)
        {
            double q = Math.Sqrt(-2 * Math.Log(p < low ? p : 1 - p));
            double x = (((((((((c[0] * q) + c[1]) * q) + c[2]) * q) + c[3]) * q) + c[4]) * q) + c[5];
            x /= (((((((d[0] * q) + d[1]) * q) + d[2]) * q) + d[3]) * q) + 1;
            return p < low ? x : -x;
        }

        double r = p - 0.5;
        double s = r * r;
        double num = (((((((((a[0] * s) + a[1]) * s) + a[2]) * s) + a[3]) * s) + a[4]) * s) + a[5];
        double den = (((((((((b[0] * s) + b[1]) * s) + b[2]) * s) + b[3]) * s) + b[4]) * s) + 1;
        return num * r / den;
    }
}
