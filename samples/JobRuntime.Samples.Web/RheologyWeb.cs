using JobRuntime.Samples.Fitting.Rheology;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace JobRuntime.Samples.Web;

/// <summary>
/// The web sample: JobRuntime on SQLite with the rheology handlers, <c>MapJobRuntime("/jobs")</c> (REST,
/// live events, WebSocket, dashboard), a page at <c>/</c> that starts the fit → NUTS chain and follows it
/// over the WebSocket, and two small endpoints of its own that make the jobs from a few numbers.
/// </summary>
public static class RheologyWeb
{
    /// <summary>How long the hanging job may run before its timeout (and thread dump).</summary>
    public static readonly TimeSpan HangTimeout = TimeSpan.FromSeconds(2);

    /// <summary>Builds the app. Configuration: <c>--urls</c> (default http://127.0.0.1:5080), <c>--db</c> (default jobs-web.db).</summary>
    /// <param name="args">The command line.</param>
    /// <param name="configure">Changes before the app is built (tests pick a port and a database here).</param>
    /// <returns>The app, not started.</returns>
    public static WebApplication Build(string[] args, Action<WebApplicationBuilder>? configure = null)
    {
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions
        {
            Args = args,
            WebRootPath = Path.Combine(AppContext.BaseDirectory, "wwwroot"),
        });
        if (builder.Configuration["urls"] is null && Environment.GetEnvironmentVariable("ASPNETCORE_URLS") is null)
        {
            builder.WebHost.UseUrls("http://127.0.0.1:5080");
        }

        configure?.Invoke(builder);
        var database = builder.Configuration["db"] ?? "jobs-web.db";
        builder.Services.AddJobRuntime(o => o.MaxConcurrency = 2)
            .UseSqlite($"Data Source={database}")
            .AddThreadDumpDiagnostics()
            .AddRheologyHandlers()
            .AddHandler<StuckInstrumentHandler>("read-instrument", h => h.DedicatedThread = true);

        var app = builder.Build();
        app.MapJobRuntime("/jobs");
        app.Use(async (http, next) =>
        {
            // The sample's own page gets the same strict policy as the dashboard.
            http.Response.Headers.ContentSecurityPolicy = "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";
            http.Response.Headers.XContentTypeOptions = "nosniff";
            await next(http);
        });
        app.UseDefaultFiles();
        app.UseStaticFiles();
        app.MapPost("/rheology/run", RunAsync);
        // JSON bodies only: a cross-site form cannot post JSON without the browser asking first.
        app.MapPost("/rheology/hang", async (HangRequest request, IServiceProvider services) => Results.Json(new { id = (await SubmitHangAsync(services, request.Instrument)).ToString() }));
        return app;
    }

    /// <summary>Submits the job that hangs (it waits for an instrument reading that never comes) with a short timeout.</summary>
    /// <param name="services">The app's services.</param>
    /// <param name="instrument">The instrument it waits for.</param>
    /// <returns>The job's id.</returns>
    public static async Task<JobId> SubmitHangAsync(IServiceProvider services, string instrument = "rheometer")
        => await services.GetRequiredService<IJobManager>().SubmitAsync(
            "read-instrument", new InstrumentArgs(instrument), new JobSubmitOptions { Timeout = HangTimeout, Title = "Live fit from the rheometer (hangs)" });

    private static async Task<IResult> RunAsync(RunRequest request, IJobManager jobs, CancellationToken cancellationToken)
    {
        var errors = request.Validate();
        if (errors.Count > 0)
        {
            return Results.ValidationProblem(errors, title: "Invalid run");
        }

        var model = RelaxationModel.WithModes(request.Modes);
        var data = RelaxationData.Reference(model, request.Points, request.Noise, request.Seed);
        var fitId = await jobs.SubmitAsync(
            RheologyJobRuntimeBuilderExtensions.FitJobType,
            new RheologyFitArgs(model.Modes, data.Time, data.Modulus, data.Source),
            new JobSubmitOptions { Title = $"NLSQ fit, {model.Name}" },
            cancellationToken);
        var nutsId = await jobs.SubmitAsync(
            RheologyJobRuntimeBuilderExtensions.NutsJobType,
            new RheologyNutsArgs(model.Modes, data.Time, data.Modulus, request.Chains, request.Warmup, request.Draws, request.Seed, Source: data.Source),
            new JobSubmitOptions { Title = $"NUTS, {model.Name}", DependsOn = [fitId] },
            cancellationToken);
        return Results.Json(new { fitId = fitId.ToString(), nutsId = nutsId.ToString(), model = model.Name, parameters = model.ParameterNames });
    }
}

/// <summary>What the page sends to start the job that hangs.</summary>
/// <param name="Instrument">The instrument it waits for.</param>
public sealed record HangRequest(string Instrument = "rheometer");

/// <summary>What the page sends to start a run: synthetic data from the reference moduli, and the sampler's settings.</summary>
/// <param name="Modes">Maxwell modes, 1 or 2.</param>
/// <param name="Points">Data points, 10 to 1,000.</param>
/// <param name="Noise">Relative noise, 0.001 to 0.5.</param>
/// <param name="Seed">The seed of the data and the sampler.</param>
/// <param name="Chains">NUTS chains, 1 to 8.</param>
/// <param name="Warmup">Warm-up iterations per chain, 10 to 1,000,000 (not kept, so a long warm-up costs time, not memory).</param>
/// <param name="Draws">Kept draws per chain, 10 to 10,000.</param>
public sealed record RunRequest(int Modes = 2, int Points = 40, double Noise = 0.03, int Seed = 1, int Chains = 4, int Warmup = 1000, int Draws = 1000)
{
    /// <summary>Every problem with the request, by field.</summary>
    /// <returns>The problems; empty when it is valid.</returns>
    public Dictionary<string, string[]> Validate()
    {
        var errors = new Dictionary<string, string[]>();
        Check(Modes is 1 or 2, "modes", "must be 1 or 2");
        Check(Points is >= 10 and <= 1000, "points", "must be between 10 and 1000");
        Check(Noise is >= 0.001 and <= 0.5, "noise", "must be between 0.001 and 0.5");
        Check(Chains is >= 1 and <= 8, "chains", "must be between 1 and 8");
        Check(Warmup is >= 10 and <= 1_000_000, "warmup", "must be between 10 and 1000000");
        Check(Draws is >= 10 and <= 10_000, "draws", "must be between 10 and 10000");
        return errors;

        void Check(bool ok, string field, string rule)
        {
            if (!ok)
            {
                errors[field] = [$"{field} {rule}."];
            }
        }
    }
}
