using System.Net.ServerSentEvents;
using System.Text.Json;
using Microsoft.AspNetCore.Http;

namespace JobRuntime.AspNetCore;

/// <summary>The batch endpoints: submit, status, live status (SSE), cancel.</summary>
internal static class BatchesApi
{
    public static async Task<IResult> SubmitAsync(HttpContext http, IJobManager jobs, JobRuntimeWebOptions options, string batchesPath, CancellationToken cancellationToken)
    {
        var (request, refusal) = await JobsApi.ReadJsonAsync<BatchSubmitRequest>(http, options, "a batch as application/json: { \"title\": \"...\", \"jobs\": [{ \"type\": \"...\", \"args\": {...}, \"options\": {...} }], \"continuation\": {...} }", cancellationToken).ConfigureAwait(false);
        if (refusal is not null)
        {
            return refusal;
        }

        // Every problem at once, each under its job's key (jobs[3], continuation): nothing is stored unless all are fine.
        var errors = new Dictionary<string, string[]>();
        if (request?.Jobs is not { Count: > 0 } entries)
        {
            return Results.ValidationProblem(new Dictionary<string, string[]> { ["jobs"] = ["jobs is required: at least one { type, args, options }."] }, title: "Invalid batch");
        }

        if (entries.Count > JobBatch.MaxJobs)
        {
            return Results.ValidationProblem(new Dictionary<string, string[]> { ["jobs"] = [$"A batch holds at most {JobBatch.MaxJobs:N0} jobs."] }, title: "Invalid batch");
        }

        var batch = new JobBatch { Title = request.Title };
        for (var i = 0; i < entries.Count; i++)
        {
            if (entries[i]?.Type is not { Length: > 0 } type)
            {
                errors[$"jobs[{i}]"] = ["type is required: the job type to run."];
                continue;
            }

            batch.AddJson(type, entries[i]!.Args is { } args ? args.GetRawText() : "null", entries[i]!.Options?.ToOptions());
        }

        if (request.Continuation is { } continuation)
        {
            if (continuation.Type is not { Length: > 0 } type)
            {
                errors["continuation"] = ["type is required: the job type to run."];
            }
            else
            {
                batch.ContinueWithJson(type, continuation.Args is { } args ? args.GetRawText() : "null", continuation.Options?.ToOptions());
            }
        }

        if (errors.Count > 0)
        {
            return Results.ValidationProblem(errors, title: "Invalid batch");
        }

        try
        {
            var submitted = await jobs.SubmitBatchAsync(batch, cancellationToken).ConfigureAwait(false);
            return Results.Created($"{batchesPath}/{submitted.BatchId}", new BatchSubmitResponse(submitted.BatchId.ToString(), [.. submitted.JobIds.Select(id => id.ToString())]));
        }
        catch (JobBatchRejectedException ex)
        {
            foreach (var problem in ex.Problems)
            {
                var key = problem.Index < 0 ? "continuation" : $"jobs[{problem.Index}]";
                errors[key] = [.. errors.GetValueOrDefault(key) ?? [], problem.Message];
            }
        }
        catch (JobNotFoundException ex)
        {
            errors["dependsOn"] = [ex.Message];
        }

        return Results.ValidationProblem(errors, title: "Invalid batch");
    }

    public static async Task<IResult> GetAsync(IJobManager jobs, string id, CancellationToken cancellationToken)
        => JobId.TryParse(id, null, out var batchId) && await jobs.GetBatchAsync(batchId, cancellationToken).ConfigureAwait(false) is { } status
            ? Results.Json(status, WebJson.Options)
            : NotFound(id);

    /// <summary>Server-Sent Events of a batch's status (event <c>batch</c>): the current one, then each change, ending when the batch is over.</summary>
    public static async Task<IResult> EventsAsync(HttpContext http, IJobManager jobs, string id)
    {
        var lifetime = EventStreams.Lifetime(http);
        if (!JobId.TryParse(id, null, out var batchId) || await jobs.GetBatchAsync(batchId, lifetime).ConfigureAwait(false) is null)
        {
            return NotFound(id);
        }

        return TypedResults.ServerSentEvents(Frames(jobs.WatchBatchAsync(batchId, lifetime), lifetime));
    }

    public static async Task<IResult> CancelAsync(IJobManager jobs, string id, CancellationToken cancellationToken)
    {
        if (!JobId.TryParse(id, null, out var batchId))
        {
            return NotFound(id);
        }

        try
        {
            var cancelled = await jobs.CancelBatchAsync(batchId, cancellationToken).ConfigureAwait(false);
            return Results.Json(new { id, cancelled }, WebJson.Options, statusCode: StatusCodes.Status202Accepted);
        }
        catch (JobNotFoundException)
        {
            return NotFound(id);
        }
    }

    private static async IAsyncEnumerable<SseItem<string>> Frames(IAsyncEnumerable<JobBatchStatus> statuses, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken)
    {
        await foreach (var status in statuses.WithCancellation(cancellationToken).ConfigureAwait(false))
        {
            yield return new SseItem<string>(JsonSerializer.Serialize(status, WebJson.Options), "batch");
        }
    }

    private static IResult NotFound(string id) => Guards.Problem(StatusCodes.Status404NotFound, "No such batch", $"No batch with id '{id}' exists (it may have been deleted or cleaned up).");
}
