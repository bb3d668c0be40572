namespace JobRuntime.Samples.Fitting.Nuts;

/// <summary>The phase a chain is in.</summary>
public enum NutsStage
{
    /// <summary>Warm-up: step size and metric are being adapted; draws are discarded.</summary>
    Warmup,

    /// <summary>Sampling: draws are kept.</summary>
    Sampling,
}

/// <summary>One chain iteration, as reported to progress observers.</summary>
/// <param name="Chain">The chain index, from 0.</param>
/// <param name="Iteration">The iteration within the chain, from 1, counting warm-up.</param>
/// <param name="TotalIterations">Warm-up plus kept iterations per chain.</param>
/// <param name="Stage">Warm-up or sampling.</param>
/// <param name="Divergent">Whether this iteration's trajectory diverged.</param>
/// <param name="ChainDivergences">Divergences in this chain so far (sampling iterations only).</param>
/// <param name="StepSize">The chain's current step size.</param>
public readonly record struct NutsProgress(int Chain, int Iteration, int TotalIterations, NutsStage Stage, bool Divergent, int ChainDivergences, double StepSize);

/// <summary>The posterior summary of one reported quantity.</summary>
public sealed record ParameterSummary
{
    /// <summary>The quantity's name.</summary>
    public required string Name { get; init; }

    /// <summary>The posterior mean.</summary>
    public required double Mean { get; init; }

    /// <summary>The posterior standard deviation.</summary>
    public required double StandardDeviation { get; init; }

    /// <summary>The Monte Carlo standard error of the mean.</summary>
    public required double Mcse { get; init; }

    /// <summary>The 2.5% quantile.</summary>
    public required double Q025 { get; init; }

    /// <summary>The median.</summary>
    public required double Median { get; init; }

    /// <summary>The 97.5% quantile.</summary>
    public required double Q975 { get; init; }

    /// <summary>The lower bound of the 95% highest-density interval.</summary>
    public required double HdiLower { get; init; }

    /// <summary>The upper bound of the 95% highest-density interval.</summary>
    public required double HdiUpper { get; init; }

    /// <summary>Rank-normalised split R-hat.</summary>
    public required double RHat { get; init; }

    /// <summary>Bulk effective sample size.</summary>
    public required double EssBulk { get; init; }

    /// <summary>Tail effective sample size.</summary>
    public required double EssTail { get; init; }
}

/// <summary>Per-chain sampler statistics after warm-up.</summary>
public sealed record ChainStatistics
{
    /// <summary>The adapted step size.</summary>
    public required double StepSize { get; init; }

    /// <summary>The adapted diagonal inverse metric.</summary>
    public required IReadOnlyList<double> InverseMetric { get; init; }

    /// <summary>Divergent transitions among the kept draws.</summary>
    public required int Divergences { get; init; }

    /// <summary>Kept iterations that hit the maximum tree depth.</summary>
    public required int TreeDepthSaturations { get; init; }

    /// <summary>The mean acceptance statistic over the kept draws.</summary>
    public required double MeanAcceptance { get; init; }

    /// <summary>Leapfrog steps over the kept draws.</summary>
    public required long Leapfrogs { get; init; }
}

/// <summary>The outcome of a <see cref="NutsSampler"/> run.</summary>
public sealed record NutsResult
{
    /// <summary>The reported quantities' names.</summary>
    public required IReadOnlyList<string> ParameterNames { get; init; }

    /// <summary>The kept draws: [chain][draw][quantity].</summary>
    public required IReadOnlyList<IReadOnlyList<IReadOnlyList<double>>> Draws { get; init; }

    /// <summary>One summary per quantity.</summary>
    public required IReadOnlyList<ParameterSummary> Summary { get; init; }

    /// <summary>Per-chain statistics.</summary>
    public required IReadOnlyList<ChainStatistics> Chains { get; init; }

    /// <summary>Warm-up iterations per chain.</summary>
    public required int WarmupIterations { get; init; }

    /// <summary>Kept draws per chain.</summary>
    public required int DrawsPerChain { get; init; }

    /// <summary>The seed used.</summary>
    public required int Seed { get; init; }

    /// <summary>The maximum tree depth used.</summary>
    public required int MaxTreeDepth { get; init; }

    /// <summary>The wall-clock time of warm-up and sampling.</summary>
    public required TimeSpan SamplingTime { get; init; }

    /// <summary>When sampling finished.</summary>
    public required DateTimeOffset Timestamp { get; init; }

    /// <summary>Divergent transitions among the kept draws, all chains.</summary>
    public int Divergences => Chains.Sum(c => c.Divergences);

    /// <summary>The largest R-hat over the quantities.</summary>
    public double MaxRHat => Summary.Max(s => s.RHat);

    /// <summary>The smallest bulk ESS over the quantities.</summary>
    public double MinEssBulk => Summary.Min(s => s.EssBulk);

    /// <summary>The summary of the quantity called <paramref name="name"/>.</summary>
    /// <param name="name">A quantity name.</param>
    public ParameterSummary this[string name] =>
        Summary.FirstOrDefault(s => s.Name == name) ?? throw new KeyNotFoundException($"No quantity '{name}'; the quantities are {string.Join(", ", ParameterNames)}.");

    /// <summary>The draws of one quantity, one array per chain.</summary>
    /// <param name="name">A quantity name.</param>
    /// <returns>[chain][draw].</returns>
    public double[][] DrawsOf(string name)
    {
        int k = ParameterNames.ToList().IndexOf(name);
        if (k < 0)
        {
            throw new KeyNotFoundException($"No quantity '{name}'; the quantities are {string.Join(", ", ParameterNames)}.");
        }

        return Draws.Select(chain => chain.Select(draw => draw[k]).ToArray()).ToArray();
    }
}
