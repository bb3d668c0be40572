using System.Globalization;

namespace JobRuntime.Samples.Fitting.Rheology;

/// <summary>Thrown when relaxation data cannot be used: a missing or malformed file, non-positive values, too few points.</summary>
public sealed class RelaxationDataException(string message) : Exception(message);

/// <summary>Stress-relaxation measurements: time t (s) and relaxation modulus G(t) (Pa), both positive.</summary>
public sealed record RelaxationData
{
    /// <summary>Creates a validated dataset.</summary>
    /// <param name="time">The times, positive and finite.</param>
    /// <param name="modulus">The moduli, positive and finite, one per time.</param>
    /// <param name="source">Where the data came from, for messages.</param>
    /// <exception cref="RelaxationDataException">The data are unusable.</exception>
    public RelaxationData(IReadOnlyList<double> time, IReadOnlyList<double> modulus, string source = "data")
    {
        ArgumentNullException.ThrowIfNull(time);
        ArgumentNullException.ThrowIfNull(modulus);
        if (time.Count != modulus.Count)
        {
            throw new RelaxationDataException($"{source}: {time.Count} times but {modulus.Count} moduli.");
        }

        for (int i = 0; i < time.Count; i++)
        {
            if (!(time[i] > 0) || double.IsInfinity(time[i]))
            {
                throw new RelaxationDataException($"{source}: point {i + 1} has time {time[i].ToString(CultureInfo.InvariantCulture)}; times must be positive.");
            }

            if (!(modulus[i] > 0) || double.IsInfinity(modulus[i]))
            {
                throw new RelaxationDataException($"{source}: point {i + 1} has modulus {modulus[i].ToString(CultureInfo.InvariantCulture)}; moduli must be positive.");
            }
        }

        Time = time.ToArray();
        Modulus = modulus.ToArray();
        Source = source;
    }

    /// <summary>The times (s).</summary>
    public IReadOnlyList<double> Time { get; }

    /// <summary>The relaxation moduli (Pa).</summary>
    public IReadOnlyList<double> Modulus { get; }

    /// <summary>Where the data came from.</summary>
    public string Source { get; }

    /// <summary>The number of points.</summary>
    public int Count => Time.Count;

    /// <summary>Checks that there are enough points to fit <paramref name="model"/> and estimate the noise.</summary>
    /// <param name="model">The model.</param>
    /// <exception cref="RelaxationDataException">Too few points.</exception>
    public void RequireEnoughFor(RelaxationModel model)
    {
        ArgumentNullException.ThrowIfNull(model);
        int needed = model.ParameterCount + 2;
        if (Count < needed)
        {
            throw new RelaxationDataException($"{Source}: {Count} points are too few for the {model.Name} model ({model.ParameterCount} parameters); at least {needed} are needed.");
        }
    }

    /// <summary>
    /// Reads a CSV of two columns, time and modulus (comma, semicolon or tab separated; an optional
    /// header line; blank lines and lines starting with # ignored).
    /// </summary>
    /// <param name="path">The file.</param>
    /// <returns>The data.</returns>
    /// <exception cref="RelaxationDataException">The file is missing or malformed, or a value is not positive.</exception>
    public static RelaxationData LoadCsv(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (!File.Exists(path))
        {
            throw new RelaxationDataException($"{path}: no such file.");
        }

        string[] lines;
        try
        {
            lines = File.ReadAllLines(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new RelaxationDataException($"{path}: cannot be read ({e.Message}).");
        }

        var time = new List<double>();
        var modulus = new List<double>();
        for (int i = 0; i < lines.Length; i++)
        {
            string line = lines[i].Trim();
            if (line.Length == 0 || line.StartsWith('#'))
            {
                continue;
            }

            string[] fields = line.Split([',', ';', '\t'], StringSplitOptions.TrimEntries);
            bool numeric = fields.Length >= 2
                && double.TryParse(fields[0], NumberStyles.Float, CultureInfo.InvariantCulture, out double t)
                & double.TryParse(fields[1], NumberStyles.Float, CultureInfo.InvariantCulture, out double g);
            if (!numeric)
            {
                if (time.Count == 0 && fields.Length >= 2 && !char.IsDigit(fields[0].FirstOrDefault()))
                {
                    continue;    // a header line
                }

                throw new RelaxationDataException($"{path}: line {i + 1} '{line}' is not two numbers (time, modulus).");
            }

            if (fields.Length != 2)
            {
                throw new RelaxationDataException($"{path}: line {i + 1} has {fields.Length} columns; expected two (time, modulus).");
            }

            time.Add(double.Parse(fields[0], NumberStyles.Float, CultureInfo.InvariantCulture));
            modulus.Add(double.Parse(fields[1], NumberStyles.Float, CultureInfo.InvariantCulture));
        }

        if (time.Count == 0)
        {
            throw new RelaxationDataException($"{path}: holds no data lines.");
        }

        return new RelaxationData(time, modulus, path);
    }

    /// <summary>
    /// Synthetic data from the samples' reference moduli: G0 = 1.5e5 Pa, τ = 0.8 s for one mode;
    /// G1 = 2e5 Pa, τ1 = 0.05 s, G2 = 6e4 Pa, τ2 = 3 s for two (more modes use the two-mode values and fail the count check).
    /// </summary>
    /// <param name="model">The model (1 or 2 modes).</param>
    /// <param name="points">How many points, log-spaced in time.</param>
    /// <param name="noise">The relative noise.</param>
    /// <param name="seed">The random seed.</param>
    /// <returns>The data.</returns>
    public static RelaxationData Reference(RelaxationModel model, int points = 40, double noise = 0.03, int seed = 1)
    {
        ArgumentNullException.ThrowIfNull(model);
        return Synthetic(model, model.Modes == 1 ? [1.5e5, 0.8] : [2e5, 0.05, 6e4, 3.0], points, noise, seed);
    }

    /// <summary>
    /// Generates data from <paramref name="model"/> at log-spaced times with multiplicative
    /// log-normal noise (relative standard deviation <paramref name="noise"/>), reproducibly from a seed.
    /// </summary>
    /// <param name="model">The model.</param>
    /// <param name="parameters">The true parameters on the natural scale (G₁, τ₁, …).</param>
    /// <param name="points">The number of points.</param>
    /// <param name="noise">The relative noise, for example 0.03.</param>
    /// <param name="seed">The seed.</param>
    /// <returns>The data.</returns>
    public static RelaxationData Synthetic(RelaxationModel model, IReadOnlyList<double> parameters, int points = 40, double noise = 0.03, int seed = 1)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(parameters);
        ArgumentOutOfRangeException.ThrowIfLessThan(points, 2);
        var logParameters = model.ToLog(parameters);
        var times = model.SuggestedTimes(parameters, points);
        var random = new Random(seed);
        var modulus = new double[points];
        for (int i = 0; i < points; i++)
        {
            double u1 = 1.0 - random.NextDouble();
            double u2 = random.NextDouble();
            double z = Math.Sqrt(-2 * Math.Log(u1)) * Math.Cos(2 * Math.PI * u2);
            modulus[i] = Math.Exp(model.LogModulus(times[i], logParameters, Span<double>.Empty) + (noise * z));
        }

        return new RelaxationData(times, modulus, $"synthetic {model.Name} data (seed {seed})");
    }
}
