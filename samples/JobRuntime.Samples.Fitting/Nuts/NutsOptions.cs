namespace JobRuntime.Samples.Fitting.Nuts;

/// <summary>Settings of a <see cref="NutsSampler"/> run. Defaults follow Stan.</summary>
public sealed record NutsOptions
{
    /// <summary>The number of chains, run in parallel. Default 4.</summary>
    public int Chains { get; init; } = 4;

    /// <summary>Warm-up (adaptation) iterations per chain; their draws are discarded. Default 1000.</summary>
    public int WarmupIterations { get; init; } = 1000;

    /// <summary>Kept draws per chain. Default 1000.</summary>
    public int Draws { get; init; } = 1000;

    /// <summary>The target mean acceptance statistic for step-size adaptation (Stan's adapt_delta). Default 0.8.</summary>
    public double TargetAcceptance { get; init; } = 0.8;

    /// <summary>The largest tree depth (at most 2^depth leapfrog steps per iteration). Default 10.</summary>
    public int MaxTreeDepth { get; init; } = 10;

    /// <summary>The seed; chain k uses a stream derived from it, so the same seed gives the same draws. Default 1.</summary>
    public int Seed { get; init; } = 1;

    /// <summary>
    /// A starting point on the unconstrained scale (warm start), or <see langword="null"/> to start
    /// each chain uniformly in [−2, 2]ᵈ as Stan does.
    /// </summary>
    public IReadOnlyList<double>? InitialPoint { get; init; }

    /// <summary>
    /// The initial diagonal inverse metric (posterior variances on the unconstrained scale, for
    /// example from a least-squares fit's covariance), or <see langword="null"/> for the identity.
    /// </summary>
    public IReadOnlyList<double>? InitialInverseMetric { get; init; }

    /// <summary>
    /// With <see cref="InitialPoint"/>, each chain starts at the point plus normal jitter with this
    /// many standard deviations (from <see cref="InitialInverseMetric"/>, else 1) so the chains are
    /// dispersed and R-hat is meaningful. Default 1; 0 starts every chain at the point.
    /// </summary>
    public double InitialJitter { get; init; } = 1.0;

    /// <summary>Whether warm-up adapts a diagonal inverse metric in Stan's doubling windows. Default true.</summary>
    public bool AdaptMetric { get; init; } = true;

    /// <summary>The most chains sampled at once. Default: the processor count.</summary>
    public int MaxDegreeOfParallelism { get; init; } = Environment.ProcessorCount;

    internal void Validate(int dimension)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(Chains, 1, nameof(Chains));
        ArgumentOutOfRangeException.ThrowIfNegative(WarmupIterations, nameof(WarmupIterations));
        ArgumentOutOfRangeException.ThrowIfLessThan(Draws, 1, nameof(Draws));
        ArgumentOutOfRangeException.ThrowIfLessThan(MaxTreeDepth, 1, nameof(MaxTreeDepth));
        ArgumentOutOfRangeException.ThrowIfGreaterThan(MaxTreeDepth, 30, nameof(MaxTreeDepth));
        ArgumentOutOfRangeException.ThrowIfLessThan(MaxDegreeOfParallelism, 1, nameof(MaxDegreeOfParallelism));
        if (!(TargetAcceptance > 0 && TargetAcceptance < 1))
        {
            throw new ArgumentOutOfRangeException(nameof(TargetAcceptance), TargetAcceptance, "The target acceptance must be strictly between 0 and 1.");
        }

        if (!(InitialJitter >= 0) || double.IsInfinity(InitialJitter))
        {
            throw new ArgumentOutOfRangeException(nameof(InitialJitter), InitialJitter, "The initial jitter must be finite and non-negative.");
        }

        if (InitialPoint is not null && (InitialPoint.Count != dimension || InitialPoint.Any(v => !double.IsFinite(v))))
        {
            throw new ArgumentException($"The initial point must hold {dimension} finite values.", nameof(InitialPoint));
        }

        if (InitialInverseMetric is not null && (InitialInverseMetric.Count != dimension || InitialInverseMetric.Any(v => !(v > 0) || double.IsInfinity(v))))
        {
            throw new ArgumentException($"The initial inverse metric must hold {dimension} positive finite values.", nameof(InitialInverseMetric));
        }
    }
}
