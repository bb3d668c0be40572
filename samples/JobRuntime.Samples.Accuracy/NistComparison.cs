using System.Globalization;
using JobRuntime.Samples.Fitting.Nist;
using JobRuntime.Samples.Fitting.Nlsq;
using MathNet.Numerics.LinearAlgebra;
using MathNet.Numerics.Optimization;

namespace JobRuntime.Samples.Accuracy;

/// <summary>
/// Compares JobRuntime's Levenberg–Marquardt with MathNet.Numerics' LevenbergMarquardtMinimizer on
/// the NIST StRD datasets, both given the same exact (automatically differentiated) Jacobian.
/// Prints a Markdown table of log relative errors (LRE, agreeing significant digits; 15 = exact).
/// Usage: dotnet run -c Release --project samples/JobRuntime.Samples.Accuracy -- nist [FOLDER]
/// </summary>
internal static class NistComparison
{
    public static int Run(string[] args)
    {
        string folder = args.Length > 0 ? args[0] : SharedData.Folder("nist");
        var files = Directory.GetFiles(folder, "*.dat").OrderBy(f => f, StringComparer.Ordinal).ToArray();
        if (files.Length == 0)
        {
            Console.Error.WriteLine($"nist-comparison: no .dat files in {folder}");
            return 2;
        }

        Console.WriteLine("| Dataset | Difficulty | Start | JobRuntime params | JobRuntime SDs | JobRuntime RSS | JobRuntime says | MathNet params | MathNet SDs | MathNet RSS | MathNet says |");
        Console.WriteLine("|---|---|---|---:|---:|---:|---|---:|---:|---:|---|");
        foreach (string file in files)
        {
            var data = NistDataset.Load(file);
            string text = File.ReadAllText(file);
            string difficulty = text.Contains("Higher Level", StringComparison.Ordinal) ? "Higher" : text.Contains("Average Level", StringComparison.Ordinal) ? "Average" : "Lower";
            for (int start = 0; start < 2; start++)
            {
                var ours = new LevenbergMarquardt().Solve(data.ToProblem(), data.Starts[start]);
                var (oursParams, oursSd, oursRss) = Lre(data, ours.Parameters, ours.StandardErrors, ours.Rss);
                string oursSays = ours.Converged ? "converged" : "**not converged**";

                string mathNet;
                try
                {
                    var (p, sd, rss, reason) = MathNetFit(data, data.Starts[start]);
                    var (a, b, c) = Lre(data, p, sd, rss);
                    mathNet = $"{a:F1} | {b:F1} | {c:F1} | {reason}";
                }
                catch (Exception e) when (e is not OutOfMemoryException)
                {
                    mathNet = $"– | – | – | threw {e.GetType().Name}";
                }

                Console.WriteLine($"| {data.Name} | {difficulty} | {start + 1} | {oursParams:F1} | {oursSd:F1} | {oursRss:F1} | {oursSays} | {mathNet} |");
            }
        }

        Console.WriteLine();
        Console.WriteLine("LRE = −log10(|estimate − certified| / |certified|), the minimum over parameters (and over their standard deviations); 15 means exact, 0 means no digit agrees.");
        return 0;
    }

    private static (double Params, double Sds, double Rss) Lre(NistDataset data, IReadOnlyList<double> parameters, IReadOnlyList<double> sds, double rss)
    {
        double p = Enumerable.Range(0, data.Certified.Count).Min(j => NistDataset.LogRelativeError(parameters[j], data.Certified[j]));
        double s = Enumerable.Range(0, data.Certified.Count).Min(j => NistDataset.LogRelativeError(sds[j], data.CertifiedStandardDeviations[j]));
        return (p, s, NistDataset.LogRelativeError(rss, data.CertifiedRss));
    }

    private static (double[] Parameters, double[] Sds, double Rss, string Reason) MathNetFit(NistDataset data, IReadOnlyList<double> start)
    {
        var formula = data.Model;
        int n = formula.ParameterCount;
        // MathNet's curve model takes one x per observation: pass the observation's index and look
        // its predictor values up, so models with several predictors work too.
        int m = data.Y.Count;
        var x = Vector<double>.Build.Dense(m, i => i);
        var y = Vector<double>.Build.DenseOfEnumerable(data.Y);
        double[] Row(int i) => data.Predictors.Select(c => c[i]).ToArray();
        Vector<double> Model(Vector<double> p, Vector<double> xs)
        {
            var pa = p.ToArray();
            return Vector<double>.Build.Dense(xs.Count, i => formula.Evaluate(Row((int)xs[i]), pa, Span<double>.Empty));
        }

        Matrix<double> Derivatives(Vector<double> p, Vector<double> xs)
        {
            var pa = p.ToArray();
            var jacobian = Matrix<double>.Build.Dense(xs.Count, n);
            var g = new double[n];
            for (int i = 0; i < xs.Count; i++)
            {
                formula.Evaluate(Row((int)xs[i]), pa, g);
                for (int j = 0; j < n; j++)
                {
                    jacobian[i, j] = g[j];
                }
            }

            return jacobian;
        }

        var objective = ObjectiveFunction.NonlinearModel(Model, Derivatives, x, y);
        var solver = new LevenbergMarquardtMinimizer(maximumIterations: 10_000);
        var result = solver.FindMinimum(objective, Vector<double>.Build.DenseOfEnumerable(start));
        var best = result.MinimizingPoint.ToArray();
        double rss = 0;
        for (int i = 0; i < m; i++)
        {
            double r = formula.Evaluate(Row(i), best, Span<double>.Empty) - data.Y[i];
            rss += r * r;
        }

        return (best, result.StandardErrors.ToArray(), rss, result.ReasonForExit.ToString());
    }
}
