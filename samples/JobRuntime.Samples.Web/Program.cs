using JobRuntime.Samples.Web;

// The rheology fit → NUTS chain, started and watched from a browser. Open the address it prints.
//   dotnet run -c Release --project samples/JobRuntime.Samples.Web                 (http://127.0.0.1:5080)
//   dotnet run -c Release --project samples/JobRuntime.Samples.Web -- --hang        (also starts a job that hangs)
var app = RheologyWeb.Build(args);
await app.StartAsync();
foreach (var address in app.Urls)
{
    Console.WriteLine($"rheology page: {address}/   jobs dashboard: {address}/jobs/ui/   (Ctrl+C stops)");
}

if (args.Contains("--hang"))
{
    var id = await RheologyWeb.SubmitHangAsync(app.Services);
    Console.WriteLine($"submitted job {id}, which hangs; it times out after {RheologyWeb.HangTimeout.TotalSeconds:0} s and its thread dump is on the page");
}

await app.WaitForShutdownAsync();
