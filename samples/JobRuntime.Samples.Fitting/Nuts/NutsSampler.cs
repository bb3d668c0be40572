using System.Diagnostics;

namespace JobRuntime.Samples.Fitting.Nuts;

/// <summary>
/// The No-U-Turn Sampler (multinomial variant, as in Stan) with dual-averaging step-size
/// adaptation and windowed diagonal mass-matrix adaptation. Chains run in parallel with
/// independent random streams derived from one seed: the same seed gives the same draws.
/// </summary>
public sealed class NutsSampler
{
    // Stan's defaults for dual averaging and the adaptation windows.
    private const double Gamma = 0.05;
    private const double T0 = 10;
    private const double Kappa = 0.75;
    private const int InitBuffer = 75;
    private const int TermBuffer = 50;
    private const int BaseWindow = 25;

    /// <summary>Creates a sampler with the given options (defaults when <see langword="null"/>).</summary>
    /// <param name="options">The options.</param>
    public NutsSampler(NutsOptions? options = null) => Options = options ?? new NutsOptions();

    /// <summary>The sampler's options.</summary>
    public NutsOptions Options { get; }

    /// <summary>Samples from <paramref name="target"/>. Blocks the calling thread while the chains run.</summary>
    /// <param name="target">The log density.</param>
    /// <param name="progress">Receives one report per chain iteration, from the chains' threads.</param>
    /// <param name="cancellationToken">Checked at every iteration of every chain.</param>
    /// <returns>Draws, summaries and diagnostics.</returns>
    /// <exception cref="ArgumentException">The options do not fit the target, or no finite starting point was found.</exception>
    /// <exception cref="OperationCanceledException">The token was cancelled.</exception>
    public NutsResult Sample(ILogDensity target, IProgress<NutsProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(target);
        int d = target.Dimension;
        if (d < 1)
        {
            throw new ArgumentException("The target has no dimensions.", nameof(target));
        }

        if (target.ParameterNames.Count != d)
        {
            throw new ArgumentException($"The target names {target.ParameterNames.Count} parameters but has dimension {d}.", nameof(target));
        }

        Options.Validate(d);
        var stopwatch = Stopwatch.StartNew();
        int chains = Options.Chains;
        var outputs = new double[chains][][];
        var stats = new ChainStatistics[chains];
        var parallel = new ParallelOptions { MaxDegreeOfParallelism = Options.MaxDegreeOfParallelism, CancellationToken = cancellationToken };
        try
        {
            Parallel.For(0, chains, parallel, c => (outputs[c], stats[c]) = RunChain(target, c, progress, cancellationToken));
        }
        catch (AggregateException e) when (e.InnerExceptions.Count >= 1)
        {
            var first = e.InnerExceptions.FirstOrDefault(x => x is OperationCanceledException) ?? e.InnerExceptions[0];
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(first).Throw();
            throw;
        }

        stopwatch.Stop();
        var names = target.OutputNames;
        var summary = new ParameterSummary[names.Count];
        for (int k = 0; k < names.Count; k++)
        {
            var perChain = outputs.Select(chain => chain.Select(draw => draw[k]).ToArray()).ToArray();
            summary[k] = Summarize(names[k], perChain);
        }

        return new NutsResult
        {
            ParameterNames = names.ToArray(),
            Draws = outputs,
            Summary = summary,
            Chains = stats,
            WarmupIterations = Options.WarmupIterations,
            DrawsPerChain = Options.Draws,
            Seed = Options.Seed,
            MaxTreeDepth = Options.MaxTreeDepth,
            SamplingTime = stopwatch.Elapsed,
            Timestamp = DateTimeOffset.UtcNow,
        };
    }

    /// <summary>Summarises the draws of one quantity (mean, sd, MCSE, quantiles, HDI, R-hat, ESS).</summary>
    /// <param name="name">The quantity's name.</param>
    /// <param name="chains">Its draws, one array per chain.</param>
    /// <returns>The summary.</returns>
    public static ParameterSummary Summarize(string name, IReadOnlyList<IReadOnlyList<double>> chains)
    {
        ArgumentNullException.ThrowIfNull(chains);
        var pooled = chains.SelectMany(c => c).ToArray();
        var (lower, upper) = PosteriorDiagnostics.Hdi(pooled);
        bool multi = chains[0].Count >= 4;
        return new ParameterSummary
        {
            Name = name,
            Mean = pooled.Average(),
            StandardDeviation = PosteriorDiagnostics.StandardDeviation(pooled),
            Mcse = multi ? PosteriorDiagnostics.McseMean(chains) : double.NaN,
            Q025 = PosteriorDiagnostics.Quantile(pooled, 0.025),
            Median = PosteriorDiagnostics.Quantile(pooled, 0.5),
            Q975 = PosteriorDiagnostics.Quantile(pooled, 0.975),
            HdiLower = lower,
            HdiUpper = upper,
            RHat = multi ? PosteriorDiagnostics.RHat(chains) : double.NaN,
            EssBulk = multi ? PosteriorDiagnostics.EssBulk(chains) : double.NaN,
            EssTail = multi ? PosteriorDiagnostics.EssTail(chains) : double.NaN,
        };
    }

    private (double[][] Draws, ChainStatistics Stats) RunChain(ILogDensity target, int chainIndex, IProgress<NutsProgress>? progress, CancellationToken cancellationToken)
    {
        int d = target.Dimension;
        var rng = new Random(unchecked((Options.Seed * 1_000_003) + (chainIndex * 7919) + 17));
        var invMetric = Options.InitialInverseMetric?.ToArray() ?? Enumerable.Repeat(1.0, d).ToArray();
        var chain = new NutsChain(target, rng, Options.MaxTreeDepth, invMetric);
        Start(chain, target, rng, invMetric);
        chain.InitializeStepSize();

        int warmup = Options.WarmupIterations;
        int total = warmup + Options.Draws;
        var draws = new double[Options.Draws][];
        var window = new AdaptationWindows(warmup, Options.AdaptMetric);
        var welford = new Welford(d);

        // Dual averaging state.
        double mu = Math.Log(10 * chain.StepSize);
        double sBar = 0;
        double xBar = 0;
        int counter = 0;
        int divergences = 0;
        int saturations = 0;
        double acceptSum = 0;
        long leapfrogs = 0;
        for (int iteration = 0; iteration < total; iteration++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var transition = chain.Step();
            bool sampling = iteration >= warmup;
            if (!sampling)
            {
                counter++;
                double adaptStat = Math.Min(1, transition.AcceptStat);
                double eta = 1.0 / (counter + T0);
                sBar = ((1 - eta) * sBar) + (eta * (Options.TargetAcceptance - adaptStat));
                double x = mu - (sBar * Math.Sqrt(counter) / Gamma);
                double xEta = Math.Pow(counter, -Kappa);
                xBar = ((1 - xEta) * xBar) + (xEta * x);
                chain.StepSize = Math.Exp(x);

                if (window.InWindow(iteration))
                {
                    welford.Add(chain.Position);
                }

                if (window.EndsWindow(iteration))
                {
                    chain.SetInverseMetric(welford.RegularizedVariance());
                    welford.Reset();
                    chain.InitializeStepSize();
                    mu = Math.Log(10 * chain.StepSize);
                    sBar = 0;
                    xBar = 0;
                    counter = 0;
                }

                if (iteration == warmup - 1)
                {
                    chain.StepSize = Math.Exp(xBar);
                }
            }
            else
            {
                var output = new double[target.OutputNames.Count];
                target.WriteOutput(chain.Position, output);
                draws[iteration - warmup] = output;
                if (transition.Divergent)
                {
                    divergences++;
                }

                if (transition.TreeDepth >= Options.MaxTreeDepth)
                {
                    saturations++;
                }

                acceptSum += transition.AcceptStat;
                leapfrogs += transition.Leapfrogs;
            }

            progress?.Report(new NutsProgress(chainIndex, iteration + 1, total, sampling ? NutsStage.Sampling : NutsStage.Warmup, transition.Divergent, divergences, chain.StepSize));
        }

        return (draws, new ChainStatistics
        {
            StepSize = chain.StepSize,
            InverseMetric = chain.InverseMetric.ToArray(),
            Divergences = divergences,
            TreeDepthSaturations = saturations,
            MeanAcceptance = acceptSum / Options.Draws,
            Leapfrogs = leapfrogs,
        });
    }

    private void Start(NutsChain chain, ILogDensity target, Random rng, double[] invMetric)
    {
        int d = target.Dimension;
        var point = new double[d];
        for (int attempt = 0; attempt < 100; attempt++)
        {
            for (int i = 0; i < d; i++)
            {
                point[i] = Options.InitialPoint is { } initial
                    ? initial[i] + (attempt == 0 && Options.InitialJitter == 0 ? 0 : Options.InitialJitter * Math.Sqrt(invMetric[i]) * StandardNormal(rng))
                    : (4 * rng.NextDouble()) - 2;
            }

            if (chain.TryStart(point))
            {
                return;
            }
        }

        throw new ArgumentException("No starting point with a finite log density and gradient was found in 100 attempts; give an initial point inside the support.", nameof(target));
    }

    private static double StandardNormal(Random rng)
    {
        double u1 = 1.0 - rng.NextDouble();
        double u2 = rng.NextDouble();
        return Math.Sqrt(-2 * Math.Log(u1)) * Math.Cos(2 * Math.PI * u2);
    }

    /// <summary>Stan's windowed adaptation schedule: a fast initial buffer, doubling slow windows, a final fast buffer.</summary>
    private sealed class AdaptationWindows
    {
        private readonly int _warmup;
        private readonly int _init;
        private readonly int _term;
        private readonly bool _enabled;
        private int _windowSize;
        private int _nextWindowEnd;

        public AdaptationWindows(int warmup, bool enabled)
        {
            _warmup = warmup;
            _enabled = enabled && warmup >= 20;
            _init = InitBuffer;
            _term = TermBuffer;
            _windowSize = BaseWindow;
            if (_init + _term + _windowSize > warmup)
            {
                _init = (int)(0.15 * warmup);
                _term = (int)(0.1 * warmup);
                _windowSize = warmup - (_init + _term);
            }

            _nextWindowEnd = _init + _windowSize - 1;
        }

        public bool InWindow(int iteration) => _enabled && iteration >= _init && iteration < _warmup - _term;

        public bool EndsWindow(int iteration)
        {
            if (!_enabled || iteration != _nextWindowEnd || iteration == _warmup)
            {
                return false;
            }

            int last = _warmup - _term - 1;
            if (_nextWindowEnd != last)
            {
                _windowSize *= 2;
                _nextWindowEnd = iteration + _windowSize;
                if (_nextWindowEnd != last && _nextWindowEnd + (2 * _windowSize) >= _warmup - _term)
                {
                    _nextWindowEnd = last;
                }
            }
            else
            {
                _nextWindowEnd = -1;
            }

            return true;
        }
    }

    private sealed class Welford(int d)
    {
        private readonly double[] _mean = new double[d];
        private readonly double[] _m2 = new double[d];
        private int _n;

        public void Add(ReadOnlySpan<double> x)
        {
            _n++;
            for (int i = 0; i < x.Length; i++)
            {
                double delta = x[i] - _mean[i];
                _mean[i] += delta / _n;
                _m2[i] += delta * (x[i] - _mean[i]);
            }
        }

        public double[] RegularizedVariance()
        {
            var variance = new double[_mean.Length];
            for (int i = 0; i < variance.Length; i++)
            {
                double v = _n > 1 ? _m2[i] / (_n - 1) : 1;
                variance[i] = (_n / (_n + 5.0) * v) + (1e-3 * (5.0 / (_n + 5.0)));
            }

            return variance;
        }

        public void Reset()
        {
            Array.Clear(_mean);
            Array.Clear(_m2);
            _n = 0;
        }
    }
}
