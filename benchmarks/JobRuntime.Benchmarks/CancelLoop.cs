using System.Diagnostics;
using System.Globalization;
using Microsoft.Extensions.DependencyInjection;

namespace JobRuntime.Benchmarks;

/// <summary>
/// Cancellation latency in memory with many samples, outside BenchmarkDotNet (whose cancel row has
/// three): N times, a job that waits for its token starts, then the time from calling
/// <c>CancelAsync</c> until the handler's token callback has run is taken. With <c>--idle-ms</c>
/// the process sits idle that long before each cancel, so the thread pool's threads go to sleep
/// first, as in an application that cancels now and then.
/// Usage: --cancel-latency [--iterations 300] [--idle-ms 0]
/// </summary>
internal static class CancelLoop
{
    public static async Task<int> RunAsync(string[] args)
    {
        var iterations = int.Parse(SteadyLoop.Value(args, "--iterations") ?? "300", CultureInfo.InvariantCulture);
        var idle = int.Parse(SteadyLoop.Value(args, "--idle-ms") ?? "0", CultureInfo.InvariantCulture);
        if (iterations < 1 || idle < 0)
        {
            Console.Error.WriteLine("usage: --cancel-latency [--iterations N ≥ 1] [--idle-ms N ≥ 0]");
            return 2;
        }

        await using var services = new ServiceCollection()
            .AddSingleton<Signals>()
            .AddJobRuntime(o => o.MaxConcurrency = 4)
            .AddHandler<SignalHandler>("signal")
            .Services.BuildServiceProvider();
        var jobs = services.GetRequiredService<IJobManager>();
        var signals = services.GetRequiredService<Signals>();
        var micros = new double[iterations];
        for (var i = 0; i < iterations; i++)
        {
            signals.Started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            signals.Cancelled = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            var id = await jobs.SubmitAsync(new SignalArgs(WaitForCancel: true));
            await signals.Started.Task;
            if (idle > 0)
            {
                Thread.Sleep(idle);
            }

            var start = Stopwatch.GetTimestamp();
            await jobs.CancelAsync(id);
            await signals.Cancelled.Task;
            micros[i] = Stopwatch.GetElapsedTime(start).TotalMicroseconds;
            await jobs.WaitForCompletionAsync(id);
        }

        Array.Sort(micros);
        double At(double q) => micros[Math.Min(iterations - 1, (int)(q * iterations))];
        Console.WriteLine(FormattableString.Invariant($"in memory, {iterations} cancels{(idle > 0 ? $" each after {idle} ms idle" : "")}: cancel → token observed p50 {At(0.50):N1} µs, p95 {At(0.95):N1} µs, p99 {At(0.99):N1} µs, max {micros[^1]:N1} µs"));
        return 0;
    }
}
