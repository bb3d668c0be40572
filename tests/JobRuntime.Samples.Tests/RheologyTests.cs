using JobRuntime.Samples.Fitting.Rheology;
using Microsoft.Extensions.DependencyInjection;

namespace JobRuntime.Samples.Tests;

public sealed class RheologyTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("jr-rheology-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void Posterior_GradientMatchesFiniteDifferences()
    {
        var model = RelaxationModel.TwoModeMaxwell;
        var data = RelaxationData.Synthetic(model, [1e5, 0.1, 3e4, 5.0], points: 30, noise: 0.05, seed: 3);
        var posterior = new RelaxationPosterior(model, data);
        double[] u = [11.2, -2.0, 0.9, 10.1, -2.8];
        var gradient = new double[5];
        posterior.LogDensity(u, gradient);
        for (int j = 0; j < u.Length; j++)
        {
            double h = 1e-6;
            var plus = (double[])u.Clone();
            var minus = (double[])u.Clone();
            plus[j] += h;
            minus[j] -= h;
            double numeric = (posterior.LogDensity(plus, new double[5]) - posterior.LogDensity(minus, new double[5])) / (2 * h);
            Assert.True(Math.Abs(numeric - gradient[j]) <= 1e-5 * Math.Max(1, Math.Abs(numeric)), $"coordinate {j}: analytic {gradient[j]}, numeric {numeric}");
        }
    }

    [Fact]
    public async Task FitThenNuts_WarmStartsFromTheFitAndRecoversTheTruth()
    {
        double[] truth = [2e5, 0.5, 4e4, 20];
        var data = RelaxationData.Synthetic(RelaxationModel.TwoModeMaxwell, truth, points: 40, noise: 0.03, seed: 7);
        var services = new ServiceCollection();
        services.AddJobRuntime().UseInMemoryStore().AddRheologyHandlers();
        await using var provider = services.BuildServiceProvider();
        var jobs = provider.GetRequiredService<IJobManager>();

        var fitId = await jobs.SubmitAsync(RheologyJobRuntimeBuilderExtensions.FitJobType, new RheologyFitArgs(2, data.Time, data.Modulus));
        var nutsId = await jobs.SubmitAsync(
            RheologyJobRuntimeBuilderExtensions.NutsJobType,
            new RheologyNutsArgs(2, data.Time, data.Modulus, Chains: 4, Warmup: 500, Draws: 500, Seed: 5),
            new JobSubmitOptions { DependsOn = [fitId] });

        var chainEvents = 0;
        var stages = new List<string>();
        await foreach (var e in jobs.WatchAsync(nutsId))
        {
            if (e.Kind == JobEventKind.Custom && e.Name == "chain")
            {
                chainEvents++;
            }

            if (e.Progress?.Stage is { } stage && (stages.Count == 0 || stages[^1] != stage))
            {
                stages.Add(stage);
            }
        }

        var fit = await jobs.WaitForResultAsync<RheologyFitResult>(fitId);
        var posterior = await jobs.WaitForResultAsync<RheologyPosteriorResult>(nutsId);

        Assert.True(fit.Converged, fit.Message);
        for (int j = 0; j < truth.Length; j++)
        {
            Assert.True(Math.Abs(fit.Values[j] - truth[j]) <= 4 * fit.StandardErrors[j], $"{fit.ParameterNames[j]}: {fit.Values[j]} ± {fit.StandardErrors[j]} vs {truth[j]}");
        }

        Assert.True(posterior.WarmStarted);
        Assert.True(posterior.MaxRHat < 1.05, $"R-hat {posterior.MaxRHat}");
        foreach (var (name, value) in fit.ParameterNames.Zip(fit.Values))
        {
            var s = posterior.Summary.Single(p => p.Name == name);
            Assert.True(Math.Abs(s.Mean - value) <= 3 * s.StandardDeviation, $"{name}: posterior {s.Mean} ± {s.StandardDeviation}, fit {value}");
        }

        Assert.True(chainEvents > 0);
        Assert.Contains("warmup", stages);
        Assert.Contains("sampling", stages);
    }

    [Fact]
    public void Csv_ReadsAHeaderAndSeparators()
    {
        string path = Write("t,G\n0.1, 1000\n# comment\n0.2;900\n\n0.3\t800\n");
        var data = RelaxationData.LoadCsv(path);
        Assert.Equal([0.1, 0.2, 0.3], data.Time);
        Assert.Equal([1000.0, 900, 800], data.Modulus);
    }

    [Theory]
    [InlineData("time,modulus\n0.1,100\nabc,5\n", "line 3")]
    [InlineData("0.1,100\n-0.2,90\n", "times must be positive")]
    [InlineData("0.1,100\n0.2,0\n", "moduli must be positive")]
    [InlineData("0.1,100,3\n", "expected two")]
    [InlineData("time,modulus\n", "no data lines")]
    public void Csv_BadContent_SaysWhatIsWrong(string content, string expected)
    {
        var e = Assert.Throws<RelaxationDataException>(() => RelaxationData.LoadCsv(Write(content)));
        Assert.Contains(expected, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Csv_MissingFile_SaysSo()
    {
        var e = Assert.Throws<RelaxationDataException>(() => RelaxationData.LoadCsv(Path.Combine(_dir, "none.csv")));
        Assert.Contains("no such file", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void TooFewPoints_ForTheModel_IsRejected()
    {
        var data = RelaxationData.LoadCsv(Write("0.1,100\n0.2,90\n0.3,80\n0.4,70\n0.5,60\n"));
        data.RequireEnoughFor(RelaxationModel.Maxwell);
        var e = Assert.Throws<RelaxationDataException>(() => data.RequireEnoughFor(RelaxationModel.TwoModeMaxwell));
        Assert.Contains("too few", e.Message, StringComparison.Ordinal);
    }

    private string Write(string content)
    {
        string path = Path.Combine(_dir, $"{Guid.NewGuid():N}.csv");
        File.WriteAllText(path, content);
        return path;
    }
}
