using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Diagnosers;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Running;
using JobRuntime.Benchmarks;

// Usage:
//   dotnet run -c Release --project benchmarks/JobRuntime.Benchmarks -- --filter '*'            full run
//   dotnet run -c Release --project benchmarks/JobRuntime.Benchmarks -- --quick --filter '*'    a few minutes
//   dotnet run -c Release --project benchmarks/JobRuntime.Benchmarks -- --smoke --filter '*'    CI: each benchmark once, tiny sizes
//   dotnet run -c Release --project benchmarks/JobRuntime.Benchmarks -- --pg-burndown          PostgreSQL burn-down, two worker processes
//   dotnet run -c Release --project benchmarks/JobRuntime.Benchmarks -- --steady --store sqlite  steady-state loop for profiling and A/B runs (--peers: Coravel, ActionBlock, channel; --alloc-profile)
//   dotnet run -c Release --project benchmarks/JobRuntime.Benchmarks -- --cancel-latency        in-memory cancel latency, many samples
//   dotnet run -c Release --project benchmarks/JobRuntime.Benchmarks -- --timeout-cost [--load]  what an EventPipe dump at a timeout costs the job
//   dotnet run -c Release --project benchmarks/JobRuntime.Benchmarks -- --sse-fanout             progress at 20,000/s over SSE to 1, 100 and 1,000 clients on loopback
//   dotnet run -c Release --project benchmarks/JobRuntime.Benchmarks -- --list-ttfb              first byte of the job list with 100,000 SQLite jobs
//   dotnet run -c Release --project benchmarks/JobRuntime.Benchmarks -- --batch-submit           SubmitBatchAsync from one caller on SQLite and PostgreSQL
if (args.FirstOrDefault() == "--pg-worker")
{
    return await PostgresBurnDown.WorkerAsync(args);
}

if (args.Contains("--steady"))
{
    return await SteadyLoop.RunAsync(args);
}

if (args.Contains("--cancel-latency"))
{
    return await CancelLoop.RunAsync(args);
}

if (args.Contains("--list-ttfb"))
{
    return await ListLatency.RunAsync(args);
}

if (args.Contains("--sse-fanout"))
{
    return await SseFanOut.RunAsync(args);
}

if (args.Contains("--timeout-cost"))
{
    return await TimeoutCost.RunAsync(args);
}

if (args.Contains("--batch-submit"))
{
    return await BatchSubmit.RunAsync(args);
}

if (args.Contains("--pg-burndown"))
{
    return await PostgresBurnDown.RunAsync(args);
}

var smoke = args.Contains("--smoke");
var quick = args.Contains("--quick");
args = [.. args.Where(a => a is not ("--smoke" or "--quick"))];
Sizes.Mode = smoke ? SizeMode.Smoke : quick ? SizeMode.Quick : SizeMode.Full;

var config = DefaultConfig.Instance.AddDiagnoser(MemoryDiagnoser.Default);
if (smoke)
{
    config = config.AddJob(Job.Dry.WithId("smoke")).WithOptions(ConfigOptions.DisableOptimizationsValidator);
}
else if (quick)
{
    config = config.AddJob(Job.ShortRun.WithId("quick"));
}

var summaries = BenchmarkSwitcher.FromAssembly(typeof(Sizes).Assembly).Run(args, config);
return summaries.Any(s => s.HasCriticalValidationErrors || s.Reports.Any(r => !r.Success)) ? 1 : 0;
