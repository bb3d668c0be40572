using JobRuntime;
using JobRuntime.AspNetCore;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Microsoft.AspNetCore.Builder;

/// <summary>Maps JobRuntime's web API.</summary>
public static class JobRuntimeEndpointRouteBuilderExtensions
{
    /// <summary>
    /// Maps the REST API and the live event streams under <paramref name="prefix"/>: jobs at
    /// <c>{prefix}/api/jobs</c> (list, view, submit, cancel, re-run, delete, thread dump, artifacts) and
    /// Server-Sent Events at <c>{prefix}/api/jobs/{id}/events</c> and <c>{prefix}/api/events</c>, and a
    /// WebSocket at <c>{prefix}/ws</c> (<c>watch</c>/<c>unwatch</c> messages; <c>progress</c>, <c>status</c>
    /// and <c>event</c> messages back), and the jobs dashboard at <c>{prefix}/ui/</c>.
    /// Only local requests are allowed unless <see cref="JobRuntimeWebOptions.AuthorizationPolicy"/> is
    /// set; changes are refused from other sites, and all of them in read-only mode.
    /// </summary>
    /// <param name="endpoints">The application (<c>app</c>).</param>
    /// <param name="prefix">Where to map, such as <c>/jobs</c>.</param>
    /// <param name="configure">Authorization, read-only mode, submit size limit.</param>
    /// <returns>The route group, for the usual conventions (<c>.WithTags(...)</c>, more authorization).</returns>
    public static RouteGroupBuilder MapJobRuntime(this IEndpointRouteBuilder endpoints, string prefix = "/jobs", Action<JobRuntimeWebOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        ArgumentException.ThrowIfNullOrWhiteSpace(prefix);
        var options = new JobRuntimeWebOptions();
        configure?.Invoke(options);
        var root = "/" + prefix.Trim('/');
        var jobsPath = root + "/api/jobs";
        var batchesPath = root + "/api/batches";

        // The WebSocket route needs the WebSocket middleware; on a WebApplication it is added here.
        if (endpoints is IApplicationBuilder app)
        {
            app.UseWebSockets();
        }

        var group = endpoints.MapGroup(root).WithTags("JobRuntime");
        if (options.AuthorizationPolicy is { } policy)
        {
            group.RequireAuthorization(policy);
        }
        else
        {
            group.AddEndpointFilter(Guards.LocalOnly);
        }

        var api = group.MapGroup("/api");
        api.MapGet("/jobs", JobsApi.ListAsync).WithName("JobRuntime.ListJobs").WithSummary("Lists jobs, newest first, with filters and keyset paging.");
        api.MapGet("/jobs/{id}", JobsApi.GetAsync).WithName("JobRuntime.GetJob").WithSummary("One job: status, progress, arguments, result, error, timings.");
        api.MapGet("/jobs/{id}/dump", JobsApi.DumpAsync).WithName("JobRuntime.GetThreadDump").WithSummary("A timed-out job's thread dump, as JSON or (Accept: text/plain) text.");
        api.MapGet("/jobs/{id}/artifacts/{name}", JobsApi.ArtifactAsync).WithName("JobRuntime.GetArtifact").WithSummary("Downloads one of a job's artifacts.");
        api.MapGet("/jobs/{id}/events", EventStreams.JobAsync).WithName("JobRuntime.JobEvents").WithSummary("Server-Sent Events of one job: its state, then live events until it ends.");
        api.MapGet("/batches/{id}", BatchesApi.GetAsync).WithName("JobRuntime.GetBatch").WithSummary("A batch: its members counted by status, its aggregate progress, its head.");
        api.MapGet("/batches/{id}/events", BatchesApi.EventsAsync).WithName("JobRuntime.BatchEvents").WithSummary("Server-Sent Events of a batch's status (event: batch) until it is over.");
        api.MapGet("/events", EventStreams.All).WithName("JobRuntime.AllEvents").WithSummary("Server-Sent Events of every job.");

        api.MapGet("/info", () => Results.Json(new { readOnly = options.ReadOnly }, WebJson.Options)).WithName("JobRuntime.Info").WithSummary("What this API allows (read-only or not).");

        // The dashboard: {prefix}/ui/ (its page asks the API relative to itself).
        // (Routing ignores a trailing slash: "/ui" and "/ui/" reach the same route; only the first is redirected.)
        group.MapGet("/ui", (HttpContext http) => http.Request.Path.Value!.EndsWith('/')
            ? Dashboard.Serve(http, null)
            : Results.Redirect(http.Request.PathBase + root + "/ui/")).ExcludeFromDescription();
        group.MapGet("/ui/{file}", Dashboard.Serve).ExcludeFromDescription();

        group.MapGet("/ws", JobSocket.AcceptAsync).WithName("JobRuntime.WebSocket")
            .WithSummary("WebSocket: send {type: watch|unwatch, job_id}; receive progress, status and event messages for each watched job.");

        // Changes are refused cross-site, and in read-only mode.
        RouteGroupBuilder Changes(string path)
        {
            var changes = api.MapGroup(path).AddEndpointFilter(Guards.SameSite);
            if (options.ReadOnly)
            {
                changes.AddEndpointFilter(Guards.ReadOnly);
            }

            return changes;
        }

        var changes = Changes("/jobs");

        changes.MapPost("/", (HttpContext http, IJobManager jobs, CancellationToken token) => JobsApi.SubmitAsync(http, jobs, options, jobsPath, token))
            .WithName("JobRuntime.SubmitJob").WithSummary("Submits a job: { type, args, options }.");
        changes.MapPost("/{id}/cancel", JobsApi.CancelAsync).WithName("JobRuntime.CancelJob").WithSummary("Cancels a job: before it runs, or by tripping its token wherever it runs.");
        changes.MapPost("/{id}/rerun", (IJobManager jobs, string id, CancellationToken token) => JobsApi.RerunAsync(jobs, id, jobsPath, token))
            .WithName("JobRuntime.RerunJob").WithSummary("Runs a finished job again, as a new job.");
        changes.MapDelete("/{id}", JobsApi.DeleteAsync).WithName("JobRuntime.DeleteJob").WithSummary("Deletes a finished job.");

        var batchChanges = Changes("/batches");

        batchChanges.MapPost("/", (HttpContext http, IJobManager jobs, CancellationToken token) => BatchesApi.SubmitAsync(http, jobs, options, batchesPath, token))
            .WithName("JobRuntime.SubmitBatch").WithSummary("Submits a batch, all or nothing: { title, jobs: [{ type, args, options }], continuation }.");
        batchChanges.MapPost("/{id}/cancel", BatchesApi.CancelAsync).WithName("JobRuntime.CancelBatch").WithSummary("Cancels a batch: its continuation and every unfinished member.");
        return group;
    }
}
