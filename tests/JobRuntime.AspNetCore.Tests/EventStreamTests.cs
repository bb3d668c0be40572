using System.Net;
using System.Net.ServerSentEvents;
using System.Text.Json;

namespace JobRuntime.AspNetCore.Tests;

/// <summary>Server-Sent Events: framing, the state first, the end after the terminal event, 404 before the stream, resume.</summary>
public sealed class EventStreamTests
{
    internal static async Task<List<SseItem<string>>> ReadAllAsync(HttpResponseMessage response)
    {
        var items = new List<SseItem<string>>();
        await using var body = await response.Content.ReadAsStreamAsync();
        await foreach (var item in SseParser.Create(body).EnumerateAsync())
        {
            items.Add(item);
        }

        return items;
    }

    [Fact]
    public async Task JobEvents_StateFirst_ThenLiveEvents_AndTheStreamEndsAfterTheTerminalOne()
    {
        await using var host = await WebHost.StartAsync();
        var id = await host.SubmitAsync("wait", new { key = "watched" });
        await host.Gates.For("watched").Started.Task.WaitAsync(WebHost.Guard);

        using var response = await host.Client.GetAsync($"/jobs/api/jobs/{id}/events", HttpCompletionOption.ResponseHeadersRead);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/event-stream", response.Content.Headers.ContentType?.MediaType);
        var reading = ReadAllAsync(response);
        host.Gates.For("watched").Release.TrySetResult();
        var items = await reading.WaitAsync(WebHost.Guard);

        Assert.Equal("State", items[0].EventType);
        Assert.Equal("Completed", items[^1].EventType);
        var last = JsonDocument.Parse(items[^1].Data).RootElement;
        Assert.Equal(id, last.GetProperty("jobId").GetString());
        Assert.True(last.GetProperty("isTerminal").GetBoolean());
        Assert.All(items, i => Assert.False(string.IsNullOrEmpty(i.EventId)));
    }

    [Fact]
    public async Task UnknownJob_Is404BeforeAnyStream()
    {
        await using var host = await WebHost.StartAsync();

        using var response = await host.Client.GetAsync($"/jobs/api/jobs/{JobId.New(DateTimeOffset.UtcNow)}/events", HttpCompletionOption.ResponseHeadersRead);

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
    }

    [Fact]
    public async Task Reconnecting_WithLastEventId_GetsTheStateThenNothingItHadSeen()
    {
        await using var host = await WebHost.StartAsync();
        var id = await host.SubmitAsync("steps", new { value = 1, steps = 20 });
        await host.WaitUntilFinishedAsync(id);

        // The job has ended: a first connection gets its terminal state; a reconnect after that id
        // gets the current state again (a stream's first event always goes) and nothing older.
        using var first = await host.Client.GetAsync($"/jobs/api/jobs/{id}/events", HttpCompletionOption.ResponseHeadersRead);
        var seen = await ReadAllAsync(first).WaitAsync(WebHost.Guard);
        var lastId = long.Parse(seen[^1].EventId!, System.Globalization.CultureInfo.InvariantCulture);

        using var request = new HttpRequestMessage(HttpMethod.Get, $"/jobs/api/jobs/{id}/events");
        request.Headers.TryAddWithoutValidation("Last-Event-ID", lastId.ToString(System.Globalization.CultureInfo.InvariantCulture));
        using var again = await host.Client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        var resumed = await ReadAllAsync(again).WaitAsync(WebHost.Guard);

        Assert.NotEmpty(resumed);
        Assert.All(resumed.Skip(1), i => Assert.True(long.Parse(i.EventId!, System.Globalization.CultureInfo.InvariantCulture) > lastId));
        Assert.Equal("Completed", JsonDocument.Parse(resumed[^1].Data).RootElement.GetProperty("status").GetString());
    }

    [Fact]
    public async Task AllEvents_CarryEveryJobsLifecycle()
    {
        await using var host = await WebHost.StartAsync();
        using var response = await host.Client.GetAsync("/jobs/api/events", HttpCompletionOption.ResponseHeadersRead);
        Assert.Equal("text/event-stream", response.Content.Headers.ContentType?.MediaType);
        await using var body = await response.Content.ReadAsStreamAsync();
        var id = await host.SubmitAsync("steps", new { value = 3, steps = 2 });

        var kinds = new List<string>();
        using var patience = new CancellationTokenSource(WebHost.Guard);
        await foreach (var item in SseParser.Create(body).EnumerateAsync(patience.Token))
        {
            if (JsonDocument.Parse(item.Data).RootElement.GetProperty("jobId").GetString() == id)
            {
                kinds.Add(item.EventType);
                if (item.EventType == "Completed")
                {
                    break;
                }
            }
        }

        Assert.Equal("Submitted", kinds[0]);
        Assert.Contains("Started", kinds);
        Assert.Equal("Completed", kinds[^1]);
    }
}
