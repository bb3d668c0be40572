using System.Text.Json;
using JobRuntime.Samples.Fitting.Nuts;
using JobRuntime.Samples.Fitting.Nuts.Models;

namespace JobRuntime.Samples.Accuracy;

/// <summary>
/// Runs NUTS (4 chains × 1000 draws after 1000 warm-up, seed 11) on each exact posterior in
/// ../shared/data/posterior and prints a Markdown table: the error of each posterior mean in
/// Monte Carlo standard errors, the relative error of each sd, R-hat, bulk ESS and divergences.
/// </summary>
internal static class PosteriorChecks
{
    public static int Run()
    {
        string folder = SharedData.Folder("posterior");
        using var targets = JsonDocument.Parse(File.ReadAllText(Path.Combine(folder, "analytic_targets.json")));
        using var schools = JsonDocument.Parse(File.ReadAllText(Path.Combine(folder, "eight_schools.json")));
        using var schoolsExact = JsonDocument.Parse(File.ReadAllText(Path.Combine(folder, "eight_schools_exact_moments.json")));
        var root = targets.RootElement;
        var options = new NutsOptions { Chains = 4, WarmupIterations = 1000, Draws = 1000, Seed = 11 };

        Console.WriteLine("| Target | Quantity | Exact mean | Posterior mean | \\|error\\| / MCSE | Exact sd | Posterior sd | sd error | R-hat | ESS bulk | ESS tail | Divergences |");
        Console.WriteLine("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
        var g2 = root.GetProperty("gauss2d_corr");
        Row("gauss2d_corr (rho 0.95)", new NutsSampler(options).Sample(new Gaussian2D(Doubles(g2, "mu"), Doubles(g2, "sd"), g2.GetProperty("rho").GetDouble())), g2.GetProperty("exact"));

        var g100 = root.GetProperty("gauss100d_scaled");
        var sd = Doubles(g100, "sd");
        var scaled = new NutsSampler(options).Sample(new IndependentNormal(sd));
        Worst("gauss100d_scaled (sd 0.01…100)", scaled, _ => 0, i => sd[i]);
        var iid = new NutsSampler(options).Sample(new IndependentNormal(Enumerable.Repeat(1.0, 100).ToArray()));
        Worst("gauss100d iid N(0,1)", iid, _ => 0, _ => 1);

        var cn = root.GetProperty("conjugate_normal_known_sigma");
        Row("conjugate normal", new NutsSampler(options).Sample(new ConjugateNormal(Doubles(cn, "y"), cn.GetProperty("sigma").GetDouble(), cn.GetProperty("m0").GetDouble(), cn.GetProperty("s0").GetDouble())), cn.GetProperty("exact"));

        var bb = root.GetProperty("beta_binomial");
        Row("beta-binomial (logit scale)", new NutsSampler(options).Sample(new BetaBinomialLogit(bb.GetProperty("a0").GetDouble(), bb.GetProperty("b0").GetDouble(), bb.GetProperty("k").GetInt32(), bb.GetProperty("N").GetInt32())), bb.GetProperty("exact"));

        var funnel = root.GetProperty("neal_funnel_10d").GetProperty("exact");
        Row("Neal's funnel, centred", new NutsSampler(options).Sample(new NealFunnel(nonCentered: false)), funnel);
        Row("Neal's funnel, non-centred", new NutsSampler(options).Sample(new NealFunnel(nonCentered: true)), funnel);

        var density = new EightSchools(Doubles(schools.RootElement, "y"), Doubles(schools.RootElement, "sigma"));
        Row("eight schools, non-centred (adapt delta 0.95)", new NutsSampler(options with { TargetAcceptance = 0.95 }).Sample(density), schoolsExact.RootElement.GetProperty("eight_schools-eight_schools_noncentered"));
        Console.WriteLine();
        Console.WriteLine("Targets: each mean within 4 MCSE of exact, each sd within 10 %, R-hat < 1.01, bulk ESS > 400 (the centred funnel is expected to fail them and to report divergences).");
        return 0;
    }

    private static void Row(string target, NutsResult result, JsonElement exact)
    {
        foreach (var parameter in exact.EnumerateObject())
        {
            var s = result[parameter.Name];
            double mean = parameter.Value.GetProperty("mean").GetDouble();
            double sd = parameter.Value.GetProperty("sd").GetDouble();
            Print(target, s, mean, sd, result.Divergences);
        }
    }

    private static void Worst(string target, NutsResult result, Func<int, double> mean, Func<int, double> sd)
    {
        // 100 quantities: print the worst by mean error and by sd error.
        var rows = result.Summary.Select((s, i) => (s, i)).ToArray();
        var byMean = rows.MaxBy(r => Math.Abs(r.s.Mean - mean(r.i)) / r.s.Mcse);
        var bySd = rows.MaxBy(r => Math.Abs(r.s.StandardDeviation - sd(r.i)) / sd(r.i));
        Print(target + ", worst mean", byMean.s, mean(byMean.i), sd(byMean.i), result.Divergences);
        Print(target + ", worst sd", bySd.s, mean(bySd.i), sd(bySd.i), result.Divergences);
        Console.WriteLine($"| {target}, all 100 | max R-hat {result.MaxRHat:F4}, min ESS bulk {result.MinEssBulk:F0} | | | | | | | | | | |");
    }

    private static void Print(string target, ParameterSummary s, double mean, double sd, int divergences) =>
        Console.WriteLine($"| {target} | {s.Name} | {mean:G5} | {s.Mean:G5} | {Math.Abs(s.Mean - mean) / s.Mcse:F2} | {sd:G5} | {s.StandardDeviation:G5} | {(s.StandardDeviation - sd) / sd:+0.0%;-0.0%} | {s.RHat:F4} | {s.EssBulk:F0} | {s.EssTail:F0} | {divergences} |");

    private static double[] Doubles(JsonElement element, string name) => element.GetProperty(name).EnumerateArray().Select(e => e.GetDouble()).ToArray();
}
