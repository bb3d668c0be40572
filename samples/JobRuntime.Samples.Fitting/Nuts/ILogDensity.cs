namespace JobRuntime.Samples.Fitting.Nuts;

/// <summary>
/// A target for <see cref="NutsSampler"/>: a log density (up to an additive constant) on an
/// unconstrained space ℝᵈ, with its gradient. Constrained parameters are sampled through a
/// transform (log for positive values, logit for probabilities) whose log-Jacobian the density
/// includes; <see cref="WriteOutput"/> maps a position back to the reported quantities.
/// </summary>
public interface ILogDensity
{
    /// <summary>The dimension d of the unconstrained space.</summary>
    int Dimension { get; }

    /// <summary>The names of the unconstrained coordinates (d of them).</summary>
    IReadOnlyList<string> ParameterNames { get; }

    /// <summary>The names of the reported quantities; by default the unconstrained coordinates.</summary>
    IReadOnlyList<string> OutputNames => ParameterNames;

    /// <summary>Returns log p(x) and writes ∇log p(x) into <paramref name="gradient"/> (d values).</summary>
    /// <param name="position">The point x (d values).</param>
    /// <param name="gradient">Receives the gradient.</param>
    /// <returns>The log density; −∞ or NaN outside the support.</returns>
    double LogDensity(ReadOnlySpan<double> position, Span<double> gradient);

    /// <summary>Maps a position to the reported quantities (<see cref="OutputNames"/>); by default a copy.</summary>
    /// <param name="position">The point x.</param>
    /// <param name="output">Receives one value per output name.</param>
    void WriteOutput(ReadOnlySpan<double> position, Span<double> output) => position.CopyTo(output);
}
