using System.Globalization;
using JobRuntime.Samples.Fitting.Nlsq;

namespace JobRuntime.Samples.Fitting.Nist;

/// <summary>
/// One NIST StRD nonlinear regression dataset, read from its original <c>.dat</c> file: the model
/// formula, both starting points, the certified parameters, standard deviations and residual sum
/// of squares, and the observations (y, x).
/// </summary>
public sealed class NistDataset
{
    private NistDataset(string name, Formula model, double[][] starts, double[] certified, double[] certifiedSd, double certifiedRss, double[][] predictors, double[] y)
    {
        Predictors = predictors;
        double[] x = predictors[0];
        Name = name;
        Model = model;
        Starts = starts;
        Certified = certified;
        CertifiedStandardDeviations = certifiedSd;
        CertifiedRss = certifiedRss;
        X = x;
        Y = y;
    }

    /// <summary>The dataset name (for example "Thurber").</summary>
    public string Name { get; }

    /// <summary>The model formula.</summary>
    public Formula Model { get; }

    /// <summary>The starting points; NIST gives two (start 1 far, start 2 near).</summary>
    public IReadOnlyList<IReadOnlyList<double>> Starts { get; }

    /// <summary>The certified parameter values.</summary>
    public IReadOnlyList<double> Certified { get; }

    /// <summary>The certified parameter standard deviations.</summary>
    public IReadOnlyList<double> CertifiedStandardDeviations { get; }

    /// <summary>The certified residual sum of squares.</summary>
    public double CertifiedRss { get; }

    /// <summary>The values of the first (often only) predictor.</summary>
    public IReadOnlyList<double> X { get; }

    /// <summary>Every predictor column (x1, x2, …).</summary>
    public IReadOnlyList<IReadOnlyList<double>> Predictors { get; }

    /// <summary>The responses as the model sees them (ln y when the model is for log[y]).</summary>
    public IReadOnlyList<double> Y { get; }

    /// <summary>Loads a dataset from a <c>.dat</c> file.</summary>
    /// <param name="path">The file.</param>
    /// <returns>The dataset, named after the file.</returns>
    public static NistDataset Load(string path) => Parse(Path.GetFileNameWithoutExtension(path), File.ReadAllText(path));

    /// <summary>Parses the text of a NIST StRD nonlinear regression <c>.dat</c> file.</summary>
    /// <param name="name">The dataset name.</param>
    /// <param name="text">The file's text.</param>
    /// <returns>The dataset.</returns>
    /// <exception cref="FormatException">The text is not in the StRD layout.</exception>
    public static NistDataset Parse(string name, string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        string[] lines = text.Replace("\r", string.Empty, StringComparison.Ordinal).Split('\n');

        // The model: from the line starting "y =" up to the line ending "+ e".
        int modelStart = Array.FindIndex(lines, l => IsModelLine(l.TrimStart()));
        if (modelStart < 0)
        {
            throw new FormatException($"{name}: no model line 'y = …' was found.");
        }

        var model = new System.Text.StringBuilder();
        for (int i = modelStart; i < lines.Length; i++)
        {
            model.Append(' ').Append(lines[i].Trim());
            if (lines[i].TrimEnd().EndsWith("e", StringComparison.Ordinal) && lines[i].Contains('+', StringComparison.Ordinal))
            {
                break;
            }
        }

        var formula = Formula.Parse(model.ToString());
        int n = formula.ParameterCount;
        var starts = new[] { new double[n], new double[n] };
        var certified = new double[n];
        var sd = new double[n];
        int found = 0;
        foreach (string line in lines)
        {
            string trimmed = line.Trim();
            if (trimmed.Length < 3 || trimmed[0] != 'b' || !trimmed.Contains('=', StringComparison.Ordinal))
            {
                continue;
            }

            int eq = trimmed.IndexOf('=', StringComparison.Ordinal);
            if (!int.TryParse(trimmed.AsSpan(1, eq - 1).Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out int k) || k < 1 || k > n)
            {
                continue;
            }

            string[] fields = trimmed[(eq + 1)..].Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (fields.Length < 4)
            {
                throw new FormatException($"{name}: parameter line '{trimmed}' needs two starts, a certified value and its standard deviation.");
            }

            starts[0][k - 1] = Number(fields[0], name);
            starts[1][k - 1] = Number(fields[1], name);
            certified[k - 1] = Number(fields[2], name);
            sd[k - 1] = Number(fields[3], name);
            found++;
        }

        if (found != n)
        {
            throw new FormatException($"{name}: the model has {n} parameters but {found} parameter lines were found.");
        }

        string? rssLine = lines.FirstOrDefault(l => l.TrimStart().StartsWith("Residual Sum of Squares:", StringComparison.Ordinal));
        double rss = rssLine is null
            ? throw new FormatException($"{name}: no 'Residual Sum of Squares' line.")
            : Number(rssLine[(rssLine.IndexOf(':', StringComparison.Ordinal) + 1)..].Trim(), name);

        int dataHeader = Array.FindLastIndex(lines, l => l.StartsWith("Data:", StringComparison.Ordinal) && l.Contains('y', StringComparison.Ordinal) && l.Contains('x', StringComparison.Ordinal));
        if (dataHeader < 0)
        {
            throw new FormatException($"{name}: no 'Data:  y  x' header.");
        }

        int columns = 1 + formula.PredictorCount;
        var predictors = Enumerable.Range(0, formula.PredictorCount).Select(_ => new List<double>()).ToArray();
        var y = new List<double>();
        for (int i = dataHeader + 1; i < lines.Length; i++)
        {
            string[] fields = lines[i].Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (fields.Length == 0)
            {
                continue;
            }

            if (fields.Length != columns)
            {
                throw new FormatException($"{name}: data line {i + 1} '{lines[i].Trim()}' does not hold {columns} numbers (y and {formula.PredictorCount} predictor(s)).");
            }

            double response = Number(fields[0], name);
            y.Add(formula.Response is "log[y]" or "ln[y]" or "log(y)" or "ln(y)" ? Math.Log(response) : response);
            for (int c = 0; c < formula.PredictorCount; c++)
            {
                predictors[c].Add(Number(fields[c + 1], name));
            }
        }

        return new NistDataset(name, formula, starts, certified, sd, rss, predictors.Select(p => p.ToArray()).ToArray(), [.. y]);
    }

    /// <summary>The dataset as a curve-fitting problem with exact derivatives.</summary>
    /// <returns>The problem.</returns>
    public CurveFitProblem ToProblem()
    {
        var formula = Model;
        return new CurveFitProblem(
            Predictors,
            Y,
            formula.ParameterCount,
            (x, p) => formula.Evaluate(x, p, Span<double>.Empty),
            (x, p, g) => formula.Evaluate(x, p, g),
            parameterNames: Enumerable.Range(1, formula.ParameterCount).Select(i => $"b{i}").ToArray());
    }

    /// <summary>The log relative error −log10(|estimate − certified|/|certified|), capped at 15 digits.</summary>
    /// <param name="estimate">The estimate.</param>
    /// <param name="certified">The certified value.</param>
    /// <returns>The number of agreeing significant digits.</returns>
    public static double LogRelativeError(double estimate, double certified)
    {
        if (!double.IsFinite(estimate))
        {
            return 0;
        }

        double error = certified == 0 ? Math.Abs(estimate) : Math.Abs(estimate - certified) / Math.Abs(certified);
        return error == 0 ? 15 : Math.Clamp(-Math.Log10(error), 0, 15);
    }

    private static bool IsModelLine(string line)
    {
        int eq = line.IndexOf('=', StringComparison.Ordinal);
        if (eq < 0)
        {
            return false;
        }

        string lhs = line[..eq].Replace(" ", string.Empty, StringComparison.Ordinal).ToLowerInvariant();
        return lhs is "y" or "log[y]" or "ln[y]" or "log(y)" or "ln(y)";
    }

    private static double Number(string text, string name) =>
        double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out double value)
            ? value
            : throw new FormatException($"{name}: '{text}' is not a number.");
}
