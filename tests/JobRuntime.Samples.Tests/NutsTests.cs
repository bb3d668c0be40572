using System.Text.Json;
using JobRuntime.Samples.Fitting.Nuts;
using JobRuntime.Samples.Fitting.Nuts.Models;
using Xunit.Abstractions;

namespace JobRuntime.Samples.Tests;

public sealed class NutsTests(ITestOutputHelper output)
{
    private static readonly NutsOptions Standard = new() { Chains = 4, WarmupIterations = 1000, Draws = 1000, Seed = 11 };

    [Fact]
    public void CorrelatedGaussian_MatchesExactMoments()
    {
        var target = Targets()["gauss2d_corr"];
        var density = new Gaussian2D(Doubles(target, "mu"), Doubles(target, "sd"), target.GetProperty("rho").GetDouble());
        var result = new NutsSampler(Standard).Sample(density);
        AssertMatchesExact(result, target.GetProperty("exact"));
    }

    [Fact]
    public void ScaledGaussian100D_AdaptsTheDiagonalMetric()
    {
        var target = Targets()["gauss100d_scaled"];
        var sd = Doubles(target, "sd");
        var result = new NutsSampler(Standard).Sample(new IndependentNormal(sd));
        Report(result);
        for (int i = 0; i < sd.Length; i++)
        {
            var s = result.Summary[i];
            Assert.True(Math.Abs(s.Mean) <= 4 * s.Mcse, $"{s.Name}: mean {s.Mean} vs 0, MCSE {s.Mcse}");
            DiagnosticsTests.AssertWithin(sd[i], s.StandardDeviation, 0.10);
        }

        AssertConverged(result);

        // The adapted inverse metric tracks the variances across eight orders of magnitude.
        var metric = result.Chains[0].InverseMetric;
        Assert.InRange(metric[99] / metric[0], 1e7, 1e9);
    }

    [Fact]
    public void IidStandardNormal100D_MatchesExactMoments()
    {
        var result = new NutsSampler(Standard).Sample(new IndependentNormal(Enumerable.Repeat(1.0, 100).ToArray()));
        foreach (var s in result.Summary)
        {
            Assert.True(Math.Abs(s.Mean) <= 4 * s.Mcse, $"{s.Name}: mean {s.Mean}, MCSE {s.Mcse}");
            DiagnosticsTests.AssertWithin(1, s.StandardDeviation, 0.10);
        }

        AssertConverged(result);
    }

    [Fact]
    public void ConjugateNormal_MatchesExactPosterior()
    {
        var target = Targets()["conjugate_normal_known_sigma"];
        var density = new ConjugateNormal(Doubles(target, "y"), target.GetProperty("sigma").GetDouble(), target.GetProperty("m0").GetDouble(), target.GetProperty("s0").GetDouble());
        var result = new NutsSampler(Standard).Sample(density);
        AssertMatchesExact(result, target.GetProperty("exact"));
    }

    [Fact]
    public void BetaBinomialOnLogitScale_MatchesExactPosterior()
    {
        var target = Targets()["beta_binomial"];
        var density = new BetaBinomialLogit(target.GetProperty("a0").GetDouble(), target.GetProperty("b0").GetDouble(), target.GetProperty("k").GetInt32(), target.GetProperty("N").GetInt32());
        var result = new NutsSampler(Standard).Sample(density);
        AssertMatchesExact(result, target.GetProperty("exact"));
    }

    [Fact]
    public void NealFunnelCentred_ReportsDivergences()
    {
        var result = new NutsSampler(Standard).Sample(new NealFunnel(nonCentered: false));
        Report(result);
        Assert.True(result.Divergences > 0, "the centred funnel should produce divergent transitions");
    }

    [Fact]
    public void NealFunnelNonCentred_HasNoDivergencesAndMatchesV()
    {
        var target = Targets()["neal_funnel_10d"];
        var result = new NutsSampler(Standard).Sample(new NealFunnel(nonCentered: true));
        Report(result);
        Assert.True(result.Divergences <= 2, $"{result.Divergences} divergences");
        var v = result["v"];
        var exact = target.GetProperty("exact").GetProperty("v");
        Assert.True(Math.Abs(v.Mean - exact.GetProperty("mean").GetDouble()) <= 4 * v.Mcse, $"v mean {v.Mean}, MCSE {v.Mcse}");
        DiagnosticsTests.AssertWithin(exact.GetProperty("sd").GetDouble(), v.StandardDeviation, 0.10);
        AssertConverged(result);
    }

    [Fact]
    public void EightSchoolsNonCentred_MatchesExactMoments()
    {
        using var data = JsonDocument.Parse(File.ReadAllText(SharedData.Path("posterior", "eight_schools.json")));
        using var exact = JsonDocument.Parse(File.ReadAllText(SharedData.Path("posterior", "eight_schools_exact_moments.json")));
        var density = new EightSchools(Doubles(data.RootElement, "y"), Doubles(data.RootElement, "sigma"));
        var result = new NutsSampler(Standard with { TargetAcceptance = 0.95 }).Sample(density);
        Report(result);
        Assert.Equal(0, result.Divergences);
        foreach (var parameter in exact.RootElement.GetProperty("eight_schools-eight_schools_noncentered").EnumerateObject())
        {
            var s = result[parameter.Name];
            double mean = parameter.Value.GetProperty("mean").GetDouble();
            Assert.True(Math.Abs(s.Mean - mean) <= 4 * s.Mcse, $"{s.Name}: mean {s.Mean} vs {mean}, MCSE {s.Mcse}");
            DiagnosticsTests.AssertWithin(parameter.Value.GetProperty("sd").GetDouble(), s.StandardDeviation, 0.10);
        }

        AssertConverged(result);
    }

    [Fact]
    public void SameSeed_GivesTheSameDraws()
    {
        var options = new NutsOptions { Chains = 3, WarmupIterations = 200, Draws = 100, Seed = 42 };
        var density = new Gaussian2D([0, 0], [1, 2], 0.5);
        var a = new NutsSampler(options).Sample(density);
        var b = new NutsSampler(options).Sample(density);
        var c = new NutsSampler(options with { Seed = 43 }).Sample(density);
        Assert.Equal(a.DrawsOf("x[1]"), b.DrawsOf("x[1]"));
        Assert.Equal(a.DrawsOf("x[2]"), b.DrawsOf("x[2]"));
        Assert.NotEqual(a.DrawsOf("x[1]")[0], c.DrawsOf("x[1]")[0]);
        Assert.NotEqual(a.DrawsOf("x[1]")[0], a.DrawsOf("x[1]")[1]);
    }

    [Fact]
    public void Cancellation_StopsTheChains()
    {
        using var cts = new CancellationTokenSource();
        int reports = 0;
        var progress = new JobRuntime.Samples.Fitting.Reporter<NutsProgress>(p =>
        {
            if (Interlocked.Increment(ref reports) == 50)
            {
                cts.Cancel();
            }
        });
        var options = new NutsOptions { Chains = 2, WarmupIterations = 100_000, Draws = 100_000 };
        Assert.ThrowsAny<OperationCanceledException>(() => new NutsSampler(options).Sample(new IndependentNormal([1, 1]), progress, cts.Token));
        Assert.True(reports < 1000, $"{reports} iterations ran after cancellation was requested");
    }

    [Fact]
    public void Progress_CountsEveryIterationOfEveryChainWithStages()
    {
        var seen = new System.Collections.Concurrent.ConcurrentBag<NutsProgress>();
        var options = new NutsOptions { Chains = 3, WarmupIterations = 50, Draws = 40 };
        new NutsSampler(options).Sample(new IndependentNormal([1]), new JobRuntime.Samples.Fitting.Reporter<NutsProgress>(seen.Add));
        Assert.Equal(3 * 90, seen.Count);
        Assert.Equal(3 * 50, seen.Count(p => p.Stage == NutsStage.Warmup));
        Assert.All(seen, p => Assert.Equal(90, p.TotalIterations));
        Assert.Equal([0, 1, 2], seen.Select(p => p.Chain).Distinct().Order());
    }

    [Fact]
    public void BadInput_IsRejectedClearly()
    {
        var density = new IndependentNormal([1, 1]);
        Assert.Throws<ArgumentException>(() => new NutsSampler(new NutsOptions { InitialPoint = [1.0] }).Sample(density));
        Assert.Throws<ArgumentException>(() => new NutsSampler(new NutsOptions { InitialInverseMetric = [1.0, -1.0] }).Sample(density));
        Assert.Throws<ArgumentOutOfRangeException>(() => new NutsSampler(new NutsOptions { TargetAcceptance = 1 }).Sample(density));
        Assert.Throws<ArgumentOutOfRangeException>(() => new NutsSampler(new NutsOptions { Chains = 0 }).Sample(density));
    }

    private static void AssertConverged(NutsResult result)
    {
        Assert.True(result.MaxRHat < 1.01, $"max R-hat {result.MaxRHat}");
        Assert.True(result.MinEssBulk > 400, $"min bulk ESS {result.MinEssBulk}");
    }

    private void AssertMatchesExact(NutsResult result, JsonElement exact)
    {
        Report(result);
        foreach (var parameter in exact.EnumerateObject())
        {
            var s = result[parameter.Name];
            double mean = parameter.Value.GetProperty("mean").GetDouble();
            Assert.True(Math.Abs(s.Mean - mean) <= 4 * s.Mcse, $"{s.Name}: mean {s.Mean} vs {mean}, MCSE {s.Mcse}");
            DiagnosticsTests.AssertWithin(parameter.Value.GetProperty("sd").GetDouble(), s.StandardDeviation, 0.10);
        }

        AssertConverged(result);
    }

    private void Report(NutsResult result)
    {
        output.WriteLine($"divergences {result.Divergences}, max R-hat {result.MaxRHat:F4}, min ESS bulk {result.MinEssBulk:F0}, time {result.SamplingTime.TotalMilliseconds:F0} ms");
        foreach (var c in result.Chains)
        {
            output.WriteLine($"  chain: step {c.StepSize:G3}, accept {c.MeanAcceptance:F3}, leapfrogs {c.Leapfrogs}, saturations {c.TreeDepthSaturations}");
        }

        foreach (var s in result.Summary.Take(12))
        {
            output.WriteLine($"  {s.Name,-10} mean {s.Mean,10:G5} sd {s.StandardDeviation,10:G5} mcse {s.Mcse,8:G3} hdi [{s.HdiLower:G4}, {s.HdiUpper:G4}] rhat {s.RHat:F4} ess {s.EssBulk:F0}/{s.EssTail:F0}");
        }
    }

    private static Dictionary<string, JsonElement> Targets()
    {
        using var document = JsonDocument.Parse(File.ReadAllText(SharedData.Path("posterior", "analytic_targets.json")));
        return document.RootElement.EnumerateObject().ToDictionary(p => p.Name, p => p.Value.Clone());
    }

    private static double[] Doubles(JsonElement element, string name) => element.GetProperty(name).EnumerateArray().Select(e => e.GetDouble()).ToArray();
}
