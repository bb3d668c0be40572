using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Reports;
using BenchmarkDotNet.Running;

namespace JobRuntime.Benchmarks;

/// <summary>The 99th percentile of the measured iterations (BenchmarkDotNet has P95 built in, not P99).</summary>
public sealed class P99Column : IColumn
{
    public static readonly P99Column Instance = new();

    public string Id => nameof(P99Column);

    public string ColumnName => "P99";

    public bool AlwaysShow => true;

    public ColumnCategory Category => ColumnCategory.Statistics;

    public int PriorityInCategory => 10;

    public bool IsNumeric => true;

    public UnitType UnitType => UnitType.Time;

    public string Legend => "Percentile 99: 99 % of the measured iterations took at most this long";

    public string GetValue(Summary summary, BenchmarkCase benchmarkCase) => GetValue(summary, benchmarkCase, summary.Style);

    public string GetValue(Summary summary, BenchmarkCase benchmarkCase, SummaryStyle style)
    {
        var statistics = summary[benchmarkCase]?.ResultStatistics;
        if (statistics is null)
        {
            return "NA";
        }

        var microseconds = statistics.Percentiles.Percentile(99) / 1000;
        return microseconds.ToString("N2", style.CultureInfo) + " us";
    }

    public bool IsAvailable(Summary summary) => true;

    public bool IsDefault(Summary summary, BenchmarkCase benchmarkCase) => false;
}
