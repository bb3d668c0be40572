using System.Buffers;
using System.Runtime.CompilerServices;
using System.Text;
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

    private static IResult Stream(IAsyncEnumerable<JobEvent> events, long after) => new SseResult(events, after);

    /// <summary>
    /// Writes the events as they come, flushing only when no further event is ready: a client that
    /// keeps up gets each event at once, and a burst goes out in as few writes as it can. Each event
    /// is formatted once however many clients receive it.
    /// </summary>
    private sealed class SseResult(IAsyncEnumerable<JobEvent> events, long after) : IResult
    {
        private static readonly ConditionalWeakTable<JobEvent, byte[]> Frames = new();

        public async Task ExecuteAsync(HttpContext httpContext)
        {
            var response = httpContext.Response;
            response.ContentType = "text/event-stream";
            response.Headers.CacheControl = "no-cache";
            httpContext.Features.Get<Microsoft.AspNetCore.Http.Features.IHttpResponseBodyFeature>()?.DisableBuffering();
            var writer = response.BodyWriter;

            // The headers go out at once: a client sees the stream open before the first event.
            await writer.FlushAsync(httpContext.RequestAborted).ConfigureAwait(false);
            var first = true;
            var unflushed = false;
            var enumerator = events.GetAsyncEnumerator(httpContext.RequestAborted);
            try
            {
                while (true)
                {
                    var next = enumerator.MoveNextAsync();
                    if (!next.IsCompleted && unflushed)
                    {
                        await writer.FlushAsync(httpContext.RequestAborted).ConfigureAwait(false);
                        unflushed = false;
                    }

                    if (!await next.ConfigureAwait(false))
                    {
                        break;
                    }

                    var e = enumerator.Current;

                    // A resumed stream skips what the client has; the first event (the job's current
                    // state) always goes, and tells it where the job is.
                    if (!first && e.Sequence <= after)
                    {
                        continue;
                    }

                    first = false;
                    writer.Write(Frames.GetValue(e, Format));
                    unflushed = true;
                }

                if (unflushed)
                {
                    await writer.FlushAsync(httpContext.RequestAborted).ConfigureAwait(false);
                }
            }
            catch (OperationCanceledException)
            {
                // The client left, or the application is stopping: the stream ends.
            }
            finally
            {
                await enumerator.DisposeAsync().ConfigureAwait(false);
            }
        }

        /// <summary>One event as an SSE frame: <c>id</c>, <c>event</c> (its kind) and one <c>data</c> line of JSON (JSON text has no raw line breaks).</summary>
        private static byte[] Format(JobEvent e)
        {
            var buffer = new ArrayBufferWriter<byte>(256);
            Encoding.UTF8.GetBytes(string.Create(System.Globalization.CultureInfo.InvariantCulture, $"id: {e.Sequence}\nevent: {e.Kind}\ndata: "), buffer);
            using (var json = new Utf8JsonWriter(buffer))
            {
                JsonSerializer.Serialize(json, JobEventView.From(e), WebJson.Options);
            }

            Encoding.UTF8.GetBytes("\n\n", buffer);
            return buffer.WrittenSpan.ToArray();
        }
    }
}
