using JobRuntime.Samples.Fitting.Nist;
using JobRuntime.Samples.Fitting.Nlsq;
using Xunit.Abstractions;

namespace JobRuntime.Samples.Tests;

/// <summary>
/// Two StRD problems of higher difficulty that are not in ../shared/data (MGH09, MGH10), written
/// in the StRD layout; the data are from the public NIST files, and reproducing the certified
/// values to many digits from start 2 shows they were transcribed correctly.
/// </summary>
public sealed class NistExtraTests(ITestOutputHelper output)
{
    private const string Mgh09 = """
        y = b1*(x**2+x*b2) / (x**2+x*b3+b4)  +  e
          b1 =   25          0.25         1.9280693458E-01  1.1435312227E-02
          b2 =   39          0.39         1.9128232873E-01  1.9633220911E-01
          b3 =   41.5        0.415        1.2305650693E-01  8.0842031232E-02
          b4 =   39          0.39         1.3606233068E-01  9.0025542308E-02
        Residual Sum of Squares:                    3.0750560385E-04
        Data:   y               x
           1.957000E-01    4.000000E+00
           1.947000E-01    2.000000E+00
           1.735000E-01    1.000000E+00
           1.600000E-01    5.000000E-01
           8.440000E-02    2.500000E-01
           6.270000E-02    1.670000E-01
           4.560000E-02    1.250000E-01
           3.420000E-02    1.000000E-01
           3.230000E-02    8.330000E-02
           2.350000E-02    7.140000E-02
           2.460000E-02    6.250000E-02
        """;

    private const string Mgh10 = """
        y = b1 * exp[b2/(x+b3)]  +  e
          b1 =        2         0.02       5.6096364710E-03  1.5687892471E-04
          b2 =   400000      4000          6.1813463463E+03  2.3309021107E+01
          b3 =    25000       250          3.4522363462E+02  7.8486103508E-01
        Residual Sum of Squares:                    8.7945855171E+01
        Data:  y               x
              3.478000E+04    5.000000E+01
              2.861000E+04    5.500000E+01
              2.365000E+04    6.000000E+01
              1.963000E+04    6.500000E+01
              1.637000E+04    7.000000E+01
              1.372000E+04    7.500000E+01
              1.154000E+04    8.000000E+01
              9.744000E+03    8.500000E+01
              8.261000E+03    9.000000E+01
              7.030000E+03    9.500000E+01
              6.005000E+03    1.000000E+02
              5.147000E+03    1.050000E+02
              4.427000E+03    1.100000E+02
              3.820000E+03    1.150000E+02
              3.307000E+03    1.200000E+02
              2.872000E+03    1.250000E+02
        """;

    public static TheoryData<string, int> Cases() => new()
    {
        { "MGH09", 0 }, { "MGH09", 1 }, { "MGH10", 0 }, { "MGH10", 1 },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void HigherDifficulty_AgreesOrSaysItDidNotConverge(string name, int start)
    {
        var data = NistDataset.Parse(name, name == "MGH09" ? Mgh09 : Mgh10);
        var fit = new LevenbergMarquardt().Solve(data.ToProblem(), data.Starts[start]);
        output.WriteLine($"{name} start {start + 1}: {fit.Message} ({fit.Iterations} iterations)");
        for (int j = 0; j < data.Certified.Count; j++)
        {
            output.WriteLine($"  b{j + 1} {fit.Parameters[j]:R} LRE {NistDataset.LogRelativeError(fit.Parameters[j], data.Certified[j]):F1}  sd LRE {NistDataset.LogRelativeError(fit.StandardErrors[j], data.CertifiedStandardDeviations[j]):F1}");
        }

        double required = start == 1 ? 6 : 4;
        if (start == 0 && !fit.Converged)
        {
            Assert.StartsWith("Not converged", fit.Message, StringComparison.Ordinal);
            return;
        }

        Assert.True(fit.Converged, fit.Message);
        for (int j = 0; j < data.Certified.Count; j++)
        {
            Assert.True(NistDataset.LogRelativeError(fit.Parameters[j], data.Certified[j]) >= required, $"b{j + 1} = {fit.Parameters[j]:R}");
            Assert.True(NistDataset.LogRelativeError(fit.StandardErrors[j], data.CertifiedStandardDeviations[j]) >= required, $"sd(b{j + 1}) = {fit.StandardErrors[j]:R}");
        }

        Assert.True(NistDataset.LogRelativeError(fit.Rss, data.CertifiedRss) >= required, $"RSS {fit.Rss:R}");
    }
}

public sealed class NistFormatTests
{
    [Fact]
    public void LogResponseAndTwoPredictors_AreParsedAndFitted()
    {
        // Nelson's form: log[y] = b1 - b2*x1 * exp[-b3*x2], here with noise-free data.
        double[] truth = [2.5, 0.005, 0.08];
        var lines = new List<string>
        {
            "log[y] = b1 - b2*x1 * exp[-b3*x2]  +  e",
            "  b1 =   2      2.5     2.5E+00   1.0E-01",
            "  b2 =   0.0001 0.005   5.0E-03   1.0E-03",
            "  b3 =  -0.01   0.08    8.0E-02   1.0E-02",
            "Residual Sum of Squares:   0.0E+00",
            "Data:   y      x1      x2",
        };
        foreach (double x1 in new[] { 1.0, 2, 4, 8, 16, 32, 48, 64 })
        {
            foreach (double x2 in new[] { 180.0, 225, 250, 275 })
            {
                double y = Math.Exp(truth[0] - (truth[1] * x1 * Math.Exp(-truth[2] * x2)));
                lines.Add(FormattableString.Invariant($"  {y:R}  {x1}  {x2}"));
            }
        }

        var data = NistDataset.Parse("NelsonLike", string.Join("\r\n", lines));
        Assert.Equal(2, data.Model.PredictorCount);
        Assert.Equal("log[y]", data.Model.Response);
        Assert.Equal(32, data.Y.Count);
        Assert.Equal(Math.Log(Math.Exp(truth[0] - (truth[1] * 1 * Math.Exp(-truth[2] * 180)))), data.Y[0], 12);

        var fit = new LevenbergMarquardt().Solve(data.ToProblem(), data.Starts[1]);
        Assert.True(fit.Converged, fit.Message);
        for (int j = 0; j < 3; j++)
        {
            Assert.Equal(truth[j], fit.Parameters[j], 6);
        }
    }

    [Theory]
    [InlineData("y = b1*exp(", "unexpected end")]
    [InlineData("y = b1*foo(x)", "unknown name 'foo'")]
    [InlineData("y = x + 1", "no parameters")]
    [InlineData("y = b1 * x )", "unexpected ')'")]
    public void BadFormula_SaysWhereItFailed(string text, string expected)
    {
        var e = Assert.Throws<FormatException>(() => Formula.Parse(text));
        Assert.Contains(expected, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Formula_GradientMatchesFiniteDifferences()
    {
        var formula = Formula.Parse("y = b1*x**b2 / (1 + exp[-b3*(x-b4)]) + arctan(b5*x)/pi + sqrt(b6)*ln(x)  +  e");
        double[] p = [1.3, 0.7, 0.9, 2.0, 0.4, 2.5];
        var g = new double[6];
        formula.Evaluate(3.0, p, g);
        for (int j = 0; j < 6; j++)
        {
            var plus = (double[])p.Clone();
            var minus = (double[])p.Clone();
            plus[j] += 1e-6;
            minus[j] -= 1e-6;
            double numeric = (formula.Evaluate(3.0, plus) - formula.Evaluate(3.0, minus)) / 2e-6;
            Assert.Equal(numeric, g[j], 6);
        }
    }
}
