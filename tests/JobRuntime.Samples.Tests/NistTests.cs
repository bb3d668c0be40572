using JobRuntime.Samples.Fitting.Nist;
using JobRuntime.Samples.Fitting.Nlsq;
using Xunit.Abstractions;

namespace JobRuntime.Samples.Tests;

public sealed class NistTests(ITestOutputHelper output)
{
    public static TheoryData<string> Datasets() =>
        new(Directory.GetFiles(SharedData.Path("nist"), "*.dat").Select(Path.GetFileNameWithoutExtension).Order().Select(n => n!));

    [Fact]
    public void Folder_HoldsTheFifteenDatasets()
    {
        Assert.Equal(15, Datasets().Count);
    }

    [Theory]
    [MemberData(nameof(Datasets))]
    public void Start2_AgreesWithCertifiedValuesToSixDigits(string name)
    {
        var data = NistDataset.Load(SharedData.Path("nist", name + ".dat"));
        var fit = new LevenbergMarquardt().Solve(data.ToProblem(), data.Starts[1]);
        Report(data, fit);

        Assert.True(fit.Converged, fit.Message);
        for (int j = 0; j < data.Certified.Count; j++)
        {
            Assert.True(NistDataset.LogRelativeError(fit.Parameters[j], data.Certified[j]) >= 6, $"b{j + 1} = {fit.Parameters[j]:R}, certified {data.Certified[j]:R}");
        }

        if (NearZeroRss(data))
        {
            // Lanczos-type data: the certified RSS is rounding noise, so it is compared absolutely.
            Assert.True(Math.Abs(fit.Rss - data.CertifiedRss) <= 1e-14 * SumOfSquares(data.Y), $"RSS {fit.Rss:R}, certified {data.CertifiedRss:R}");
            return;
        }

        Assert.True(NistDataset.LogRelativeError(fit.Rss, data.CertifiedRss) >= 6, $"RSS {fit.Rss:R}, certified {data.CertifiedRss:R}");
        for (int j = 0; j < data.Certified.Count; j++)
        {
            Assert.True(
                NistDataset.LogRelativeError(fit.StandardErrors[j], data.CertifiedStandardDeviations[j]) >= 6,
                $"sd(b{j + 1}) = {fit.StandardErrors[j]:R}, certified {data.CertifiedStandardDeviations[j]:R}");
        }
    }

    [Theory]
    [MemberData(nameof(Datasets))]
    public void Start1_AgreesToFourDigitsOrSaysItDidNotConverge(string name)
    {
        var data = NistDataset.Load(SharedData.Path("nist", name + ".dat"));
        var fit = new LevenbergMarquardt().Solve(data.ToProblem(), data.Starts[0]);
        Report(data, fit);

        if (!fit.Converged)
        {
            Assert.StartsWith("Not converged", fit.Message, StringComparison.Ordinal);
            return;
        }

        for (int j = 0; j < data.Certified.Count; j++)
        {
            Assert.True(NistDataset.LogRelativeError(fit.Parameters[j], data.Certified[j]) >= 4, $"converged to b{j + 1} = {fit.Parameters[j]:R}, certified {data.Certified[j]:R}");
        }
    }

    private static bool NearZeroRss(NistDataset data) => data.CertifiedRss < 1e-14 * SumOfSquares(data.Y);

    private static double SumOfSquares(IReadOnlyList<double> y) => y.Sum(v => v * v);

    private void Report(NistDataset data, FitResult fit)
    {
        output.WriteLine($"{data.Name}: {fit.Message} iterations {fit.Iterations}, evaluations {fit.FunctionEvaluations}");
        for (int j = 0; j < data.Certified.Count; j++)
        {
            output.WriteLine($"  b{j + 1} {fit.Parameters[j],22:R} LRE {NistDataset.LogRelativeError(fit.Parameters[j], data.Certified[j]),5:F1}   sd {fit.StandardErrors[j],22:R} LRE {NistDataset.LogRelativeError(fit.StandardErrors[j], data.CertifiedStandardDeviations[j]),5:F1}");
        }

        output.WriteLine($"  RSS {fit.Rss:R} LRE {NistDataset.LogRelativeError(fit.Rss, data.CertifiedRss):F1}");
    }
}
