using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;

namespace JobRuntime.AspNetCore;

/// <summary>The REST endpoints' handlers: the manager's operations, with HTTP's answers for each failure.</summary>
internal static class JobsApi
{
    public static async Task<IResult> ListAsync(IJobManager jobs, string[]? status, string? type, string? queue, string? tag, string? dependsOn, string? batch, DateTimeOffset? createdFrom, DateTimeOffset? createdBefore, string? after, int? limit, CancellationToken cancellationToken)
    {
        var errors = new Dictionary<string, string[]>();
        var statuses = new List<JobStatus>();
        foreach (var s in status ?? [])
        {
            foreach (var part in s.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
            {
                if (Enum.TryParse<JobStatus>(part, ignoreCase: true, out var parsed) && Enum.IsDefined(parsed))
                {
                    statuses.Add(parsed);
                }
                else
                {
                    errors["status"] = [$"'{part}' is not a status (Pending, Running, Completed, Failed, Cancelled, TimedOut)."];
                }
            }
        }

        var cursor = OptionalId(after, "after", "is not a cursor from a previous page", errors);
        var parent = OptionalId(dependsOn, "dependsOn", "is not a job id", errors);
        var batchId = OptionalId(batch, "batch", "is not a batch id", errors);

        if (limit is < 1 or > JobQuery.MaxPageSize)
        {
            errors["limit"] = [$"limit must be between 1 and {JobQuery.MaxPageSize}."];
        }

        if (errors.Count > 0)
        {
            return Results.ValidationProblem(errors, title: "Invalid job query");
        }

        var page = await jobs.ListAsync(
            new JobQuery { Statuses = statuses, Type = type, Queue = queue, Tag = tag, DependsOn = parent, BatchId = batchId, CreatedFrom = createdFrom, CreatedBefore = createdBefore, After = cursor, PageSize = limit ?? 50 },
            cancellationToken).ConfigureAwait(false);
        return Results.Json(new JobListView([.. page.Items.Select(j => j.ToView())], page.NextCursor?.ToString()), WebJson.Options);
    }

    /// <summary>A job id given as a query parameter; a problem entry when it is not one.</summary>
    private static JobId? OptionalId(string? text, string parameter, string complaint, Dictionary<string, string[]> errors)
    {
        if (text is null)
        {
            return null;
        }

        if (JobId.TryParse(text, null, out var id))
        {
            return id;
        }

        errors[parameter] = [$"'{text}' {complaint}."];
        return null;
    }

    /// <summary>The most dependents a job's view lists (the list endpoint's <c>dependsOn</c> filter pages through all).</summary>
    internal const int DependentsShown = 100;

    public static async Task<IResult> GetAsync(IJobManager jobs, string id, CancellationToken cancellationToken)
    {
        if (await FindAsync(jobs, id, cancellationToken).ConfigureAwait(false) is not { } job)
        {
            return NotFound(id);
        }

        var dependents = await jobs.ListAsync(new JobQuery { DependsOn = job.Id, PageSize = DependentsShown }, cancellationToken).ConfigureAwait(false);
        return Results.Json(job.ToView() with { Dependents = [.. dependents.Items.Select(d => d.Id)] }, WebJson.Options);
    }

    public static async Task<IResult> SubmitAsync(HttpContext http, IJobManager jobs, JobRuntimeWebOptions options, string jobsPath, CancellationToken cancellationToken)
    {
        var (request, refusal) = await ReadJsonAsync<SubmitRequest>(http, options, "a job as application/json: { \"type\": \"...\", \"args\": {...}, \"options\": {...} }", cancellationToken).ConfigureAwait(false);
        if (refusal is not null)
        {
            return refusal;
        }

        if (request?.Type is not { Length: > 0 } type)
        {
            return Results.ValidationProblem(new Dictionary<string, string[]> { ["type"] = ["type is required: the job type to run."] }, title: "Invalid submit");
        }

        // Every problem at once: the options' own, then the type's or the arguments' (which the
        // manager checks before the options, so a submit with invalid options never stores anything).
        var submitOptions = request.Options?.ToOptions();
        var errors = new Dictionary<string, string[]>();
        if (submitOptions?.Validate(http.RequestServices.GetService(typeof(TimeProvider)) as TimeProvider) is { Count: > 0 } optionErrors)
        {
            errors["options"] = [.. optionErrors];
        }

        try
        {
            var args = request.Args is { } json ? json.GetRawText() : "null";
            var id = await jobs.SubmitJsonAsync(type, args, submitOptions, cancellationToken).ConfigureAwait(false);
            return Results.Created($"{jobsPath}/{id}", new SubmitResponse(id.ToString()));
        }
        catch (UnknownJobTypeException ex)
        {
            errors["type"] = [ex.Message];
        }
        catch (JobPayloadException ex)
        {
            errors["args"] = [ex.Message];
        }
        catch (JobNotFoundException ex)
        {
            errors["options.dependsOn"] = [ex.Message];
        }
        catch (JobSubmitRejectedException ex)
        {
            // A submit filter of the application said no.
            errors["submit"] = [ex.Message];
        }
        catch (ArgumentException ex) when (!errors.ContainsKey("options"))
        {
            errors["options"] = [ex.Message];
        }
        catch (ArgumentException)
        {
            // The options' problems, already listed one by one.
        }

        return Results.ValidationProblem(errors, title: "Invalid submit");
    }

    /// <summary>Reads a JSON body within the submit size limit; the refusal to answer with when it cannot (413, 415, 400).</summary>
    internal static async Task<(T? Body, IResult? Refusal)> ReadJsonAsync<T>(HttpContext http, JobRuntimeWebOptions options, string expected, CancellationToken cancellationToken)
    {
        if (http.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } limit)
        {
            limit.MaxRequestBodySize = options.MaxSubmitBytes;
        }

        if (http.Request.ContentLength > options.MaxSubmitBytes)
        {
            return (default, TooLarge(options));
        }

        if (!http.Request.HasJsonContentType())
        {
            return (default, Guards.Problem(StatusCodes.Status415UnsupportedMediaType, "JSON expected", "Submit " + expected + "."));
        }

        try
        {
            return (await JsonSerializer.DeserializeAsync<T>(http.Request.Body, WebJson.Options, cancellationToken).ConfigureAwait(false), null);
        }
        catch (JsonException ex)
        {
            return (default, Results.ValidationProblem(new Dictionary<string, string[]> { ["body"] = [ex.Message] }, title: "The submit is not valid JSON"));
        }
        catch (BadHttpRequestException ex) when (ex.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            return (default, TooLarge(options));
        }

        static IResult TooLarge(JobRuntimeWebOptions options) => Guards.Problem(StatusCodes.Status413PayloadTooLarge, "Submit too large", $"A submit may be at most {options.MaxSubmitBytes} bytes.");
    }

    public static async Task<IResult> CancelAsync(IJobManager jobs, string id, CancellationToken cancellationToken)
    {
        if (!JobId.TryParse(id, null, out var jobId))
        {
            return NotFound(id);
        }

        var outcome = await jobs.CancelAsync(jobId, cancellationToken).ConfigureAwait(false);
        return outcome switch
        {
            JobCancelOutcome.NotFound => NotFound(id),
            JobCancelOutcome.AlreadyFinished => Guards.Problem(StatusCodes.Status409Conflict, "Already finished", $"Job {id} has finished; there is nothing to cancel."),
            _ => Results.Json(new { id, outcome }, WebJson.Options, statusCode: StatusCodes.Status202Accepted),
        };
    }

    public static async Task<IResult> RerunAsync(IJobManager jobs, string id, string jobsPath, CancellationToken cancellationToken)
    {
        if (!JobId.TryParse(id, null, out var jobId))
        {
            return NotFound(id);
        }

        try
        {
            var rerun = await jobs.RerunAsync(jobId, cancellationToken).ConfigureAwait(false);
            return Results.Created($"{jobsPath}/{rerun}", new SubmitResponse(rerun.ToString()));
        }
        catch (JobNotFoundException)
        {
            return NotFound(id);
        }
        catch (InvalidOperationException ex)
        {
            return Guards.Problem(StatusCodes.Status409Conflict, "Not finished", ex.Message);
        }
    }

    public static async Task<IResult> DeleteAsync(IJobManager jobs, string id, CancellationToken cancellationToken)
    {
        if (!JobId.TryParse(id, null, out var jobId))
        {
            return NotFound(id);
        }

        try
        {
            return await jobs.DeleteAsync(jobId, cancellationToken).ConfigureAwait(false) ? Results.NoContent() : NotFound(id);
        }
        catch (InvalidOperationException ex)
        {
            return Guards.Problem(StatusCodes.Status409Conflict, "Not finished", ex.Message);
        }
    }

    public static async Task<IResult> DumpAsync(HttpContext http, IJobManager jobs, string id, CancellationToken cancellationToken)
    {
        if (!JobId.TryParse(id, null, out var jobId))
        {
            return NotFound(id);
        }

        try
        {
            if (await jobs.GetThreadDumpAsync(jobId, cancellationToken).ConfigureAwait(false) is not { } dump)
            {
                return Guards.Problem(StatusCodes.Status404NotFound, "No thread dump", $"Job {id} has no thread dump (dumps are taken when a job times out).");
            }

            var wantsText = http.Request.Headers.Accept.ToString().Contains("text/plain", StringComparison.OrdinalIgnoreCase);
            return wantsText ? Results.Text(dump.ToText(), "text/plain; charset=utf-8") : Results.Json(dump, WebJson.Options);
        }
        catch (JobNotFoundException)
        {
            return NotFound(id);
        }
    }

    public static async Task<IResult> ArtifactAsync(IJobManager jobs, string id, string name, CancellationToken cancellationToken)
    {
        if (await FindAsync(jobs, id, cancellationToken).ConfigureAwait(false) is not { } job)
        {
            return NotFound(id);
        }

        if (job.Artifacts.FirstOrDefault(a => a.Name == name) is not { } artifact)
        {
            return Guards.Problem(StatusCodes.Status404NotFound, "No such artifact", $"Job {id} has no artifact named '{name}'.");
        }

        return artifact.Data is { } data
            ? Results.File(data, artifact.ContentType, name)
            : File.Exists(artifact.FilePath)
                ? Results.File(File.OpenRead(artifact.FilePath!), artifact.ContentType, Path.GetFileName(artifact.FilePath))
                : Guards.Problem(StatusCodes.Status404NotFound, "Artifact file missing", $"The file of artifact '{name}' no longer exists.");
    }

    private static async Task<JobSnapshot?> FindAsync(IJobManager jobs, string id, CancellationToken cancellationToken)
        => JobId.TryParse(id, null, out var jobId) ? await jobs.GetAsync(jobId, cancellationToken).ConfigureAwait(false) : null;

    private static IResult NotFound(string id) => Guards.Problem(StatusCodes.Status404NotFound, "No such job", $"No job with id '{id}' exists (it may have been deleted or cleaned up).");
}
