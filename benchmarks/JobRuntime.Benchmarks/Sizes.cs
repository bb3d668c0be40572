namespace JobRuntime.Benchmarks;

/// <summary>How big the benchmarks' workloads are in each run mode.</summary>
public enum SizeMode
{
    /// <summary>The sizes the results table is made with.</summary>
    Full,

    /// <summary>Smaller, for a run of a few minutes.</summary>
    Quick,

    /// <summary>Tiny, for CI: proves the suite still runs.</summary>
    Smoke,
}

/// <summary>
/// Workload sizes, chosen by the command line. Read them only through <c>[ParamsSource]</c>:
/// BenchmarkDotNet evaluates those in the process that parsed the command line and passes the
/// values on, while the benchmarks themselves run in a child process where <see cref="Mode"/> is
/// always <see cref="SizeMode.Full"/>.
/// </summary>
public static class Sizes
{
    public static SizeMode Mode { get; set; } = SizeMode.Full;

    /// <summary>Jobs per throughput measurement.</summary>
    public static IEnumerable<int> Jobs => Mode switch
    {
        SizeMode.Smoke => [200],
        SizeMode.Quick => [5_000],
        _ => [20_000],
    };

    /// <summary>Jobs per PostgreSQL throughput measurement (Hangfire.PostgreSql runs ~200 jobs/s here).</summary>
    public static IEnumerable<int> PostgreSqlJobs => Mode switch
    {
        SizeMode.Smoke => [50],
        SizeMode.Quick => [1_000],
        _ => [2_000],
    };

    /// <summary>Pending jobs of a queue at its concurrency limit, beside the measured queue.</summary>
    public static IEnumerable<int> Backlogs => Mode switch
    {
        SizeMode.Smoke => [100],
        _ => [10_000],
    };

    /// <summary>Progress events per fan-out measurement.</summary>
    public static int Events => Mode switch
    {
        SizeMode.Smoke => 1_000,
        SizeMode.Quick => 20_000,
        _ => 100_000,
    };
}
