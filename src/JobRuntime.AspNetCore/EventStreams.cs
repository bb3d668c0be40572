using System.Net.ServerSentEvents;
using System.Runtime.CompilerServices;
using System.Text.Json;
using Microsoft.AspNetCore.Http;

namespace JobRuntime.AspNetCore;

/// <summary>
/// Server-Sent Events of one job or of all: each event's id is its sequence number, so a client that
/// reconnects with <c>Last-Event-ID</c> gets the job's current state and then only newer events.
/// </summary>
internal static class EventStreams
{
    /// <summary>Ends with the request, or when the application stops (a stream held open must not hold the shutdown up).</summary>
    public static CancellationToken Lifetime(HttpContext http)
    {
        var stopping = http.RequestServices.GetService(typeof(Microsoft.Extensions.Hosting.IHostApplicationLifetime)) is Microsoft.Extensions.Hosting.IHostApplicationLifetime lifetime
            ? lifetime.ApplicationStopping
            : CancellationToken.None;
        if (!stopping.CanBeCanceled)
        {
            return http.RequestAborted;
        }

        var linked = CancellationTokenSource.CreateLinkedTokenSource(http.RequestAborted, stopping);
        http.Response.RegisterForDispose(linked);
        return linked.Token;
    }

    public static async Task<IResult> JobAsync(HttpContext http, IJobManager jobs, string id)
    {
        if (!JobId.TryParse(id, null, out var jobId))
        {
            return Guards.Problem(StatusCodes.Status404NotFound, "No such job", $"'{id}' is not a job id.");
        }

        IAsyncEnumerable<JobEvent> events;
        try
        {
            // The not-found answer comes before the stream starts.
            events = await jobs.OpenWatchAsync(jobId, Lifetime(http)).ConfigureAwait(false);
        }
        catch (JobNotFoundException ex)
        {
            return Guards.Problem(StatusCodes.Status404NotFound, "No such job", ex.Message);
        }

        return Stream(events, LastEventId(http));
    }

    public static IResult All(HttpContext http, IJobManager jobs) => Stream(jobs.WatchAllAsync(Lifetime(http)), LastEventId(http));

    private static long LastEventId(HttpContext http)
        => long.TryParse(http.Request.Headers["Last-Event-ID"].ToString(), out var last) ? last : 0;

    private static IResult Stream(IAsyncEnumerable<JobEvent> events, long after)
        => Results.Stream(
            async body =>
            {
                // The headers go out at once: a client sees the stream open before the first event.
                await body.FlushAsync().ConfigureAwait(false);
                try
                {
                    await SseFormatter.WriteAsync(Items(events, after), body).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    // The client left, or the application is stopping: the stream ends.
                }
            },
            "text/event-stream");

    private static async IAsyncEnumerable<SseItem<string>> Items(IAsyncEnumerable<JobEvent> events, long after, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var first = true;
        await foreach (var e in events.WithCancellation(cancellationToken).ConfigureAwait(false))
        {
            // A resumed stream skips what the client has; the first event (the job's current state)
            // always goes, and tells it where the job is.
            if (!first && e.Sequence <= after)
            {
                continue;
            }

            first = false;
            yield return new SseItem<string>(JsonSerializer.Serialize(JobEventView.From(e), WebJson.Options), e.Kind.ToString())
            {
                EventId = e.Sequence.ToString(System.Globalization.CultureInfo.InvariantCulture),
            };
        }
    }
}
