using System.Globalization;
using System.IO.Compression;
using System.Text.Json;
using JobRuntime.Samples.Fitting.Nuts;

namespace JobRuntime.Samples.Tests;

public sealed class DiagnosticsTests
{
    private const string Posterior = "eight_schools-eight_schools_noncentered";

    public static TheoryData<string> Parameters() => new(["mu", "tau", .. Enumerable.Range(1, 8).Select(i => $"theta[{i}]")]);

    [Theory]
    [MemberData(nameof(Parameters))]
    public void ReferenceDraws_ReproduceRHatEssAndHdi(string name)
    {
        var chains = ReadDraws(name);
        using var summary = JsonDocument.Parse(File.ReadAllText(SharedData.Path("posterior", Posterior + ".summary.json")));
        var reference = summary.RootElement.GetProperty("params").GetProperty(name);

        Assert.Equal(10, chains.Length);
        Assert.All(chains, c => Assert.Equal(1000, c.Length));
        Assert.InRange(PosteriorDiagnostics.RHat(chains) - reference.GetProperty("rhat").GetDouble(), -1e-3, 1e-3);
        AssertWithin(reference.GetProperty("ess_bulk").GetDouble(), PosteriorDiagnostics.EssBulk(chains), 0.05);
        AssertWithin(reference.GetProperty("ess_tail").GetDouble(), PosteriorDiagnostics.EssTail(chains), 0.05);

        var pooled = chains.SelectMany(c => c).ToArray();
        var (lower, upper) = PosteriorDiagnostics.Hdi(pooled);
        var hdi = reference.GetProperty("hdi95");
        Assert.Equal(hdi[0].GetDouble(), lower);
        Assert.Equal(hdi[1].GetDouble(), upper);
        Assert.Equal(reference.GetProperty("q025").GetDouble(), PosteriorDiagnostics.Quantile(pooled, 0.025), 9);
        Assert.Equal(reference.GetProperty("q975").GetDouble(), PosteriorDiagnostics.Quantile(pooled, 0.975), 9);
        Assert.Equal(reference.GetProperty("mean").GetDouble(), pooled.Average(), 9);
        Assert.Equal(reference.GetProperty("sd").GetDouble(), PosteriorDiagnostics.StandardDeviation(pooled), 9);
    }

    [Fact]
    public void ReferenceDraws_MatchTheInfoFileDiagnostics()
    {
        using var info = JsonDocument.Parse(File.ReadAllText(SharedData.Path("posterior", Posterior + ".info.json")));
        var diagnostics = info.RootElement.GetProperty("diagnostics");
        var names = diagnostics.GetProperty("diagnostic_information").GetProperty("names").EnumerateArray().Select(e => e.GetString()!).ToArray();
        var rhat = diagnostics.GetProperty("r_hat").EnumerateArray().Select(e => e.GetDouble()).ToArray();
        var bulk = diagnostics.GetProperty("effective_sample_size_bulk").EnumerateArray().Select(e => e.GetDouble()).ToArray();
        for (int k = 0; k < names.Length; k++)
        {
            var chains = ReadDraws(names[k]);
            Assert.InRange(PosteriorDiagnostics.RHat(chains) - rhat[k], -1e-3, 1e-3);
            AssertWithin(bulk[k], PosteriorDiagnostics.EssBulk(chains), 0.05);
        }
    }

    [Fact]
    public void Rhat_FlagsChainsStuckInDifferentPlaces()
    {
        var random = new Random(3);
        var chains = Enumerable.Range(0, 4).Select(c => Enumerable.Range(0, 500).Select(_ => random.NextDouble() + (c == 3 ? 2 : 0)).ToArray()).ToArray();
        Assert.True(PosteriorDiagnostics.RHat(chains) > 1.1);
    }

    [Fact]
    public void NormalQuantile_MatchesKnownValues()
    {
        Assert.Equal(1.959963984540054, PosteriorDiagnostics.NormalQuantile(0.975), 7);
        Assert.Equal(-2.326347874040841, PosteriorDiagnostics.NormalQuantile(0.01), 7);
        Assert.Equal(0, PosteriorDiagnostics.NormalQuantile(0.5), 12);
    }

    [Fact]
    public void Hdi_RejectsTooFewDraws()
    {
        Assert.Throws<ArgumentException>(() => PosteriorDiagnostics.Hdi([1.0]));
        Assert.Throws<ArgumentOutOfRangeException>(() => PosteriorDiagnostics.Hdi([1.0, 2.0, 3.0], 1.5));
    }

    internal static void AssertWithin(double expected, double actual, double relative) =>
        Assert.True(Math.Abs(actual - expected) <= relative * Math.Abs(expected), $"expected {expected} within {relative:P0}, got {actual}");

    private static double[][] ReadDraws(string name)
    {
        using var file = File.OpenRead(SharedData.Path("posterior", Posterior + ".draws.csv.gz"));
        using var gzip = new GZipStream(file, CompressionMode.Decompress);
        using var reader = new StreamReader(gzip);
        string[] header = reader.ReadLine()!.Split(',');
        int column = Array.IndexOf(header, name);
        var byChain = new SortedDictionary<int, List<double>>();
        while (reader.ReadLine() is { } line)
        {
            string[] fields = line.Split(',');
            int chain = int.Parse(fields[0], CultureInfo.InvariantCulture);
            if (!byChain.TryGetValue(chain, out var list))
            {
                byChain[chain] = list = [];
            }

            list.Add(double.Parse(fields[column], CultureInfo.InvariantCulture));
        }

        return byChain.Values.Select(l => l.ToArray()).ToArray();
    }
}
