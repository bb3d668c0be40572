using JobRuntime.Samples.Fitting.Nlsq;
using JobRuntime.Samples.Fitting.Nuts;

namespace JobRuntime.Samples.Fitting.Rheology;

/// <summary>Arguments of a relaxation-modulus fit job.</summary>
/// <param name="Modes">Maxwell modes (1 = Maxwell, 2 = two-mode generalized Maxwell).</param>
/// <param name="Time">Times (s).</param>
/// <param name="Modulus">Relaxation moduli (Pa).</param>
/// <param name="Source">Where the data came from.</param>
public sealed record RheologyFitArgs(int Modes, IReadOnlyList<double> Time, IReadOnlyList<double> Modulus, string Source = "data");

/// <summary>The result of a relaxation-modulus fit.</summary>
public sealed record RheologyFitResult
{
    /// <summary>The model's name.</summary>
    public required string Model { get; init; }

    /// <summary>Maxwell modes.</summary>
    public required int Modes { get; init; }

    /// <summary>Natural-scale parameter names (modes sorted by τ).</summary>
    public required IReadOnlyList<string> ParameterNames { get; init; }

    /// <summary>Natural-scale estimates.</summary>
    public required IReadOnlyList<double> Values { get; init; }

    /// <summary>Natural-scale standard errors (delta method: value × SE of the log).</summary>
    public required IReadOnlyList<double> StandardErrors { get; init; }

    /// <summary>The fitted log-parameters (ln G₁, ln τ₁, …).</summary>
    public required IReadOnlyList<double> LogParameters { get; init; }

    /// <summary>The log-parameters' covariance, row-major.</summary>
    public required IReadOnlyList<double> LogCovariance { get; init; }

    /// <summary>The residual standard deviation on the log scale (≈ relative noise).</summary>
    public required double ResidualSd { get; init; }

    /// <summary>Degrees of freedom.</summary>
    public required int DegreesOfFreedom { get; init; }

    /// <summary>R² on the modulus scale.</summary>
    public required double RSquared { get; init; }

    /// <summary>Mean absolute percentage error on the modulus scale.</summary>
    public required double MeanPercentageError { get; init; }

    /// <summary>χ² of the log residuals (their sum of squares).</summary>
    public required double ChiSquared { get; init; }

    /// <summary>Iterations used.</summary>
    public required int Iterations { get; init; }

    /// <summary>Whether the solver converged.</summary>
    public required bool Converged { get; init; }

    /// <summary>The solver's explanation.</summary>
    public required string Message { get; init; }

    /// <summary>The fit's duration.</summary>
    public required TimeSpan FitTime { get; init; }

    /// <summary>When the fit finished.</summary>
    public required DateTimeOffset Timestamp { get; init; }
}

/// <summary>Arguments of a NUTS job; when the job depends on a fit job, it is warm-started from the fit.</summary>
/// <param name="Modes">Maxwell modes.</param>
/// <param name="Time">Times (s).</param>
/// <param name="Modulus">Relaxation moduli (Pa).</param>
/// <param name="Chains">Chains.</param>
/// <param name="Warmup">Warm-up iterations per chain.</param>
/// <param name="Draws">Kept draws per chain.</param>
/// <param name="Seed">The seed.</param>
/// <param name="TargetAcceptance">Stan's adapt_delta.</param>
/// <param name="Source">Where the data came from.</param>
public sealed record RheologyNutsArgs(
    int Modes,
    IReadOnlyList<double> Time,
    IReadOnlyList<double> Modulus,
    int Chains = 4,
    int Warmup = 1000,
    int Draws = 1000,
    int Seed = 1,
    double TargetAcceptance = 0.8,
    string Source = "data");

/// <summary>The posterior of a relaxation model.</summary>
public sealed record RheologyPosteriorResult
{
    /// <summary>The model's name.</summary>
    public required string Model { get; init; }

    /// <summary>Summaries of G/τ per mode and σ.</summary>
    public required IReadOnlyList<ParameterSummary> Summary { get; init; }

    /// <summary>Per-chain statistics.</summary>
    public required IReadOnlyList<ChainStatistics> Chains { get; init; }

    /// <summary>Divergent transitions after warm-up.</summary>
    public required int Divergences { get; init; }

    /// <summary>The largest R-hat.</summary>
    public required double MaxRHat { get; init; }

    /// <summary>The smallest bulk ESS.</summary>
    public required double MinEssBulk { get; init; }

    /// <summary>Whether the chains started from a parent fit.</summary>
    public required bool WarmStarted { get; init; }

    /// <summary>Warm-up iterations per chain.</summary>
    public required int Warmup { get; init; }

    /// <summary>Kept draws per chain.</summary>
    public required int DrawsPerChain { get; init; }

    /// <summary>The seed.</summary>
    public required int Seed { get; init; }

    /// <summary>Warm-up plus sampling time.</summary>
    public required TimeSpan SamplingTime { get; init; }

    /// <summary>When sampling finished.</summary>
    public required DateTimeOffset Timestamp { get; init; }
}

/// <summary>A chain's progress, published as the custom event "chain" by the NUTS job.</summary>
/// <param name="Chain">The chain index.</param>
/// <param name="Iteration">Iterations done.</param>
/// <param name="Total">Iterations in all.</param>
/// <param name="Stage">"warmup" or "sampling".</param>
/// <param name="Divergences">The chain's divergences so far.</param>
public sealed record ChainProgressEvent(int Chain, int Iteration, int Total, string Stage, int Divergences);

/// <summary>A divergent transition, published as the custom event "divergence".</summary>
/// <param name="Chain">The chain index.</param>
/// <param name="Iteration">The iteration.</param>
/// <param name="TotalDivergences">Divergences over all chains so far.</param>
public sealed record DivergenceEvent(int Chain, int Iteration, int TotalDivergences);

/// <summary>Fits a relaxation model with Levenberg–Marquardt on the log scale.</summary>
public sealed class RheologyFitHandler : IJobHandler<RheologyFitArgs, RheologyFitResult>
{
    /// <inheritdoc />
    public ValueTask<RheologyFitResult> ExecuteAsync(RheologyFitArgs args, JobContext context)
    {
        ArgumentNullException.ThrowIfNull(args);
        ArgumentNullException.ThrowIfNull(context);
        var model = RelaxationModel.WithModes(args.Modes);
        var data = new RelaxationData(args.Time, args.Modulus, args.Source);
        data.RequireEnoughFor(model);
        var problem = new CurveFitProblem(
            data.Time,
            data.Modulus.Select(v => Math.Log(v)).ToArray(),
            model.ParameterCount,
            (x, p) => model.LogModulus(x[0], p, Span<double>.Empty),
            (x, p, g) => model.LogModulus(x[0], p, g),
            parameterNames: model.ParameterNames.Select(n => "log_" + n).ToArray());
        var solver = new LevenbergMarquardt();
        context.SetStage("fitting");
        var progress = new Reporter<FitIteration>(i =>
        {
            context.ReportProgress(i.Iteration, solver.Options.MaxIterations, $"iteration {i.Iteration}: cost {i.Rss:G6}");
            context.Publish("fit-iteration", i);
        });
        var fit = solver.Solve(problem, model.InitialGuess(data), progress, context.CancellationToken);
        return ValueTask.FromResult(ToResult(model, data, fit));
    }

    private static RheologyFitResult ToResult(RelaxationModel model, RelaxationData data, FitResult fit)
    {
        // Sort modes by τ so results (and warm starts) are in a canonical order.
        int n = model.ParameterCount;
        var order = Enumerable.Range(0, model.Modes).OrderBy(k => fit.Parameters[(2 * k) + 1]).ToArray();
        var index = order.SelectMany(k => new[] { 2 * k, (2 * k) + 1 }).ToArray();
        var theta = index.Select(i => fit.Parameters[i]).ToArray();
        var covariance = new double[n * n];
        for (int a = 0; a < n; a++)
        {
            for (int b = 0; b < n; b++)
            {
                covariance[(a * n) + b] = fit.Covariance[(index[a] * n) + index[b]];
            }
        }

        var values = theta.Select(Math.Exp).ToArray();
        var errors = Enumerable.Range(0, n).Select(j => values[j] * Math.Sqrt(covariance[(j * n) + j])).ToArray();
        double mean = data.Modulus.Average();
        double rss = 0;
        double tss = 0;
        double pct = 0;
        for (int i = 0; i < data.Count; i++)
        {
            double predicted = model.Modulus(data.Time[i], values);
            double y = data.Modulus[i];
            rss += (predicted - y) * (predicted - y);
            tss += (y - mean) * (y - mean);
            pct += Math.Abs(predicted - y) / y;
        }

        return new RheologyFitResult
        {
            Model = model.Name,
            Modes = model.Modes,
            ParameterNames = model.ParameterNames,
            Values = values,
            StandardErrors = errors,
            LogParameters = theta,
            LogCovariance = covariance,
            ResidualSd = Math.Sqrt(fit.Rss / fit.DegreesOfFreedom),
            DegreesOfFreedom = fit.DegreesOfFreedom,
            RSquared = 1 - (rss / tss),
            MeanPercentageError = 100 * pct / data.Count,
            ChiSquared = fit.ChiSquared,
            Iterations = fit.Iterations,
            Converged = fit.Converged,
            Message = fit.Message,
            FitTime = fit.FitTime,
            Timestamp = fit.Timestamp,
        };
    }
}

/// <summary>Samples a relaxation model's posterior with NUTS, warm-started from a parent fit job when there is one.</summary>
public sealed class RheologyNutsHandler : IJobHandler<RheologyNutsArgs, RheologyPosteriorResult>
{
    /// <inheritdoc />
    public ValueTask<RheologyPosteriorResult> ExecuteAsync(RheologyNutsArgs args, JobContext context)
    {
        ArgumentNullException.ThrowIfNull(args);
        ArgumentNullException.ThrowIfNull(context);
        var model = RelaxationModel.WithModes(args.Modes);
        var data = new RelaxationData(args.Time, args.Modulus, args.Source);
        var posterior = new RelaxationPosterior(model, data);
        var options = new NutsOptions
        {
            Chains = args.Chains,
            WarmupIterations = args.Warmup,
            Draws = args.Draws,
            Seed = args.Seed,
            TargetAcceptance = args.TargetAcceptance,
        };

        bool warm = context.Parents.Count == 1;
        if (warm)
        {
            var fit = context.GetParentResult<RheologyFitResult>();
            if (fit.Modes != model.Modes)
            {
                throw new ArgumentException($"The parent fit has {fit.Modes} modes but this job samples {model.Modes}.", nameof(args));
            }

            double logSigma = Math.Log(Math.Max(fit.ResidualSd, 1e-6));
            options = options with
            {
                InitialPoint = posterior.ToUnconstrained(fit.LogParameters, logSigma),
                InitialInverseMetric = posterior.UnconstrainedVariances(fit.LogParameters, fit.LogCovariance, fit.DegreesOfFreedom),
            };
        }

        int total = options.Chains * (options.WarmupIterations + options.Draws);
        int done = 0;
        int divergences = 0;
        int sampling = 0;
        var gate = new Lock();
        context.SetStage("warmup");
        var progress = new Reporter<NutsProgress>(p =>
        {
            lock (gate)
            {
                done++;
                if (p.Stage == NutsStage.Sampling && p.Iteration == options.WarmupIterations + 1 && ++sampling == options.Chains)
                {
                    context.SetStage("sampling");
                }

                if (p.Divergent && p.Stage == NutsStage.Sampling)
                {
                    divergences++;
                    context.Publish("divergence", new DivergenceEvent(p.Chain, p.Iteration, divergences));
                }

                if (p.Iteration % 10 == 0 || p.Iteration == p.TotalIterations || p.Iteration == options.WarmupIterations + 1)
                {
                    context.Publish("chain", new ChainProgressEvent(p.Chain, p.Iteration, p.TotalIterations, p.Stage == NutsStage.Warmup ? "warmup" : "sampling", p.ChainDivergences));
                    context.ReportProgress(done, total, $"{divergences} divergences");
                }
            }
        });

        var result = new NutsSampler(options).Sample(posterior, progress, context.CancellationToken);
        return ValueTask.FromResult(new RheologyPosteriorResult
        {
            Model = model.Name,
            Summary = result.Summary,
            Chains = result.Chains,
            Divergences = result.Divergences,
            MaxRHat = result.MaxRHat,
            MinEssBulk = result.MinEssBulk,
            WarmStarted = warm,
            Warmup = options.WarmupIterations,
            DrawsPerChain = options.Draws,
            Seed = options.Seed,
            SamplingTime = result.SamplingTime,
            Timestamp = result.Timestamp,
        });
    }
}

/// <summary>Registers the rheology handlers.</summary>
public static class RheologyJobRuntimeBuilderExtensions
{
    /// <summary>The fit job type.</summary>
    public const string FitJobType = "rheology-fit";

    /// <summary>The NUTS job type.</summary>
    public const string NutsJobType = "rheology-nuts";

    /// <summary>Adds the "rheology-fit" and "rheology-nuts" handlers, each on its own thread (CPU-bound).</summary>
    /// <param name="builder">The runtime builder.</param>
    /// <returns>The builder.</returns>
    public static JobRuntimeBuilder AddRheologyHandlers(this JobRuntimeBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        return builder
            .AddHandler<RheologyFitHandler>(FitJobType, h => h.DedicatedThread = true)
            .AddHandler<RheologyNutsHandler>(NutsJobType, h => h.DedicatedThread = true);
    }
}
