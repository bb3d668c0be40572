using System.Net;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json;

namespace JobRuntime.AspNetCore.Tests;

/// <summary>The WebSocket protocol: watch several jobs on one socket; progress, status and error messages.</summary>
public sealed class WebSocketTests
{
    private static async Task<ClientWebSocket> ConnectAsync(WebHost host)
    {
        var socket = new ClientWebSocket();
        var uri = new UriBuilder(host.Client.BaseAddress!) { Scheme = "ws", Path = "/jobs/ws" }.Uri;
        await socket.ConnectAsync(uri, CancellationToken.None).WaitAsync(WebHost.Guard);
        return socket;
    }

    private static Task SendAsync(ClientWebSocket socket, string json)
        => socket.SendAsync(Encoding.UTF8.GetBytes(json), WebSocketMessageType.Text, endOfMessage: true, CancellationToken.None);

    private static async Task<JsonElement> ReceiveAsync(ClientWebSocket socket)
    {
        var buffer = new byte[64 * 1024];
        using var message = new MemoryStream();
        WebSocketReceiveResult received;
        do
        {
            received = await socket.ReceiveAsync(buffer, CancellationToken.None).WaitAsync(WebHost.Guard);
            message.Write(buffer, 0, received.Count);
        }
        while (!received.EndOfMessage);

        return JsonDocument.Parse(message.ToArray()).RootElement.Clone();
    }

    [Fact]
    public async Task SeveralJobsOnOneSocket_StatusFirst_ProgressWhileRunning_TheTerminalStatusLast()
    {
        await using var host = await WebHost.StartAsync();
        var waiting = await host.SubmitAsync("wait", new { key = "socket" });
        await host.Gates.For("socket").Started.Task.WaitAsync(WebHost.Guard);
        using var socket = await ConnectAsync(host);

        await SendAsync(socket, $$"""{"type":"watch","job_id":"{{waiting}}"}""");
        var first = await ReceiveAsync(socket);
        Assert.Equal("status", first.GetProperty("type").GetString());
        Assert.Equal(waiting, first.GetProperty("job_id").GetString());
        Assert.Equal("Running", first.GetProperty("status").GetString());

        var stepping = await host.SubmitAsync("steps", new { value = 2, steps = 30 }, new { delay = "00:00:00.300" });
        await SendAsync(socket, $$"""{"type":"watch","job_id":"{{stepping}}"}""");
        host.Gates.For("socket").Release.TrySetResult();

        var ended = new HashSet<string>();
        var progress = 0;
        while (ended.Count < 2)
        {
            var message = await ReceiveAsync(socket);
            var job = message.GetProperty("job_id").GetString()!;
            switch (message.GetProperty("type").GetString())
            {
                case "progress":
                    Assert.Equal(stepping, job);
                    progress++;
                    break;
                case "status" when message.GetProperty("is_terminal").GetBoolean():
                    Assert.Equal("Completed", message.GetProperty("status").GetString());
                    ended.Add(job);
                    break;
            }
        }

        Assert.Equal(new[] { waiting, stepping }.Order(), ended.Order());
        Assert.True(progress > 0);
        await socket.CloseAsync(WebSocketCloseStatus.NormalClosure, null, CancellationToken.None);
    }

    [Fact]
    public async Task UnknownJobOrBadMessage_AnswersWithAnError_AndTheSocketStaysOpen()
    {
        await using var host = await WebHost.StartAsync();
        using var socket = await ConnectAsync(host);

        var unknown = JobId.New(DateTimeOffset.UtcNow).ToString();
        await SendAsync(socket, $$"""{"type":"watch","job_id":"{{unknown}}"}""");
        var error = await ReceiveAsync(socket);
        Assert.Equal("error", error.GetProperty("type").GetString());
        Assert.Equal(unknown, error.GetProperty("job_id").GetString());

        await SendAsync(socket, "not json");
        Assert.Equal("error", (await ReceiveAsync(socket)).GetProperty("type").GetString());

        var id = await host.SubmitAsync("steps", new { value = 1, steps = 1 });
        await host.WaitUntilFinishedAsync(id);
        await SendAsync(socket, $$"""{"type":"watch","job_id":"{{id}}"}""");
        var status = await ReceiveAsync(socket);
        Assert.Equal("Completed", status.GetProperty("status").GetString());
        Assert.Equal(WebSocketState.Open, socket.State);
    }

    [Fact]
    public async Task PlainGet_IsABadRequest()
    {
        await using var host = await WebHost.StartAsync();

        Assert.Equal(HttpStatusCode.BadRequest, (await host.Client.GetAsync("/jobs/ws")).StatusCode);
    }
}
