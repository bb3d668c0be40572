using System.Collections.Concurrent;
using System.Net.WebSockets;
using System.Text.Json;
using System.Text.Json.Serialization;
using Microsoft.AspNetCore.Http;

namespace JobRuntime.AspNetCore;

/// <summary>
/// The WebSocket protocol: the client sends <c>{"type":"watch","job_id":"…"}</c> and
/// <c>{"type":"unwatch","job_id":"…"}</c>, for as many jobs as it likes; the server sends
/// <c>progress</c> messages (the job's progress), <c>status</c> messages (its lifecycle: the current
/// state first, the terminal status last) and <c>event</c> messages (stages, custom events, warnings),
/// and <c>error</c> for a message it cannot act on (an unknown job, say).
/// </summary>
internal static class JobSocket
{
    private static readonly JsonSerializerOptions SocketJson = CreateJson();

    public static async Task<IResult> AcceptAsync(HttpContext http, IJobManager jobs)
    {
        if (!http.WebSockets.IsWebSocketRequest)
        {
            return Guards.Problem(StatusCodes.Status400BadRequest, "WebSocket expected", "Connect to this route with a WebSocket (ws:// or wss://).");
        }

        using var socket = await http.WebSockets.AcceptWebSocketAsync().ConfigureAwait(false);
        await new Session(socket, jobs).RunAsync(EventStreams.Lifetime(http)).ConfigureAwait(false);
        return Results.Empty;
    }

    private static JsonSerializerOptions CreateJson()
    {
        var options = new JsonSerializerOptions(JsonSerializerDefaults.Web) { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower };
        options.Converters.Add(new JsonStringEnumConverter());
        options.MakeReadOnly(populateMissingResolver: true);
        return options;
    }

    private sealed record ClientMessage(string? Type, string? JobId);

    private sealed class Session(WebSocket socket, IJobManager jobs)
    {
        private readonly SemaphoreSlim _send = new(1, 1);
        private readonly ConcurrentDictionary<JobId, CancellationTokenSource> _watches = new();

        public async Task RunAsync(CancellationToken aborted)
        {
            var buffer = new byte[8 * 1024];
            try
            {
                while (socket.State == WebSocketState.Open && !aborted.IsCancellationRequested)
                {
                    using var message = new MemoryStream();
                    WebSocketReceiveResult received;
                    do
                    {
                        received = await socket.ReceiveAsync(buffer, aborted).ConfigureAwait(false);
                        if (received.MessageType == WebSocketMessageType.Close)
                        {
                            await socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, null, CancellationToken.None).ConfigureAwait(false);
                            return;
                        }

                        message.Write(buffer, 0, received.Count);
                        if (message.Length > 64 * 1024)
                        {
                            await SendAsync(new { type = "error", message = "A message may be at most 64 KiB." }).ConfigureAwait(false);
                            return;
                        }
                    }
                    while (!received.EndOfMessage);

                    await HandleAsync(message.ToArray(), aborted).ConfigureAwait(false);
                }
            }
            catch (Exception ex) when (ex is OperationCanceledException or WebSocketException)
            {
                // The client went away.
            }
            finally
            {
                foreach (var watch in _watches.Values)
                {
                    await watch.CancelAsync().ConfigureAwait(false);
                }
            }
        }

        private async Task HandleAsync(byte[] message, CancellationToken aborted)
        {
            ClientMessage? request;
            try
            {
                request = JsonSerializer.Deserialize<ClientMessage>(message, SocketJson);
            }
            catch (JsonException ex)
            {
                await SendAsync(new { type = "error", message = $"Not a JSON message: {ex.Message}" }).ConfigureAwait(false);
                return;
            }

            if (request?.Type is not ("watch" or "unwatch") || !JobId.TryParse(request.JobId, null, out var id))
            {
                await SendAsync(new { type = "error", job_id = request?.JobId, message = "Send {\"type\":\"watch\"|\"unwatch\",\"job_id\":\"<id>\"}." }).ConfigureAwait(false);
                return;
            }

            if (request.Type == "unwatch")
            {
                if (_watches.TryRemove(id, out var watch))
                {
                    await watch.CancelAsync().ConfigureAwait(false);
                }

                return;
            }

            var cancel = CancellationTokenSource.CreateLinkedTokenSource(aborted);
            if (!_watches.TryAdd(id, cancel))
            {
                cancel.Dispose();
                return;
            }

            IAsyncEnumerable<JobEvent> events;
            try
            {
                events = await jobs.OpenWatchAsync(id, cancel.Token).ConfigureAwait(false);
            }
            catch (JobNotFoundException ex)
            {
                _watches.TryRemove(id, out _);
                cancel.Dispose();
                await SendAsync(new { type = "error", job_id = id.ToString(), message = ex.Message }).ConfigureAwait(false);
                return;
            }

            _ = ForwardAsync(id, events, cancel);
        }

        private async Task ForwardAsync(JobId id, IAsyncEnumerable<JobEvent> events, CancellationTokenSource cancel)
        {
            try
            {
                await foreach (var e in events.WithCancellation(cancel.Token).ConfigureAwait(false))
                {
                    object message = e.Kind switch
                    {
                        JobEventKind.Progress => new { type = "progress", job_id = id.ToString(), status = e.Status, progress = e.Progress, sequence = e.Sequence },
                        JobEventKind.StageChanged or JobEventKind.Custom or JobEventKind.Warning or JobEventKind.CancellationRequested
                            => new { type = "event", job_id = id.ToString(), kind = e.Kind, name = e.Name, data = e.Data, progress = e.Progress, error = e.Error, sequence = e.Sequence },
                        _ => new { type = "status", job_id = id.ToString(), kind = e.Kind, status = e.Status, progress = e.Progress, error = e.Error, attempt = e.Attempt, is_terminal = e.IsTerminal, sequence = e.Sequence },
                    };
                    await SendAsync(message).ConfigureAwait(false);
                }
            }
            catch (Exception ex) when (ex is OperationCanceledException or WebSocketException)
            {
            }
            finally
            {
                _watches.TryRemove(new KeyValuePair<JobId, CancellationTokenSource>(id, cancel));
                cancel.Dispose();
            }
        }

        /// <summary>One message at a time: a WebSocket takes one send at once.</summary>
        private async Task SendAsync(object message)
        {
            var bytes = JsonSerializer.SerializeToUtf8Bytes(message, SocketJson);
            await _send.WaitAsync().ConfigureAwait(false);
            try
            {
                if (socket.State == WebSocketState.Open)
                {
                    await socket.SendAsync(bytes, WebSocketMessageType.Text, endOfMessage: true, CancellationToken.None).ConfigureAwait(false);
                }
            }
            finally
            {
                _send.Release();
            }
        }
    }
}
