using System.Net;
using System.Net.Http.Json;
using System.Net.ServerSentEvents;
using System.Text.Json;

namespace JobRuntime.AspNetCore.Tests;

/// <summary>The batch endpoints: submit (all or nothing, every problem under its job's key), status, SSE, cancel, the list's batch filter.</summary>
public sealed class BatchApiTests
{
    [Fact]
    public async Task SubmitBatch_Is201_ThenItsStatusStreamsUntilTheContinuationEnds()
    {
        await using var host = await WebHost.StartAsync();
        var response = await host.Client.PostAsJsonAsync("/jobs/api/batches", new
        {
            title = "three",
            jobs = new object[]
            {
                new { type = "steps", args = new { value = 1, steps = 2 } },
                new { type = "wait", args = new { key = "held" } },
                new { type = "fail", args = new { why = "bad row" } },
            },
            continuation = new { type = "steps", args = new { value = 10, steps = 1 } },
        });

        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        var created = await response.Content.ReadFromJsonAsync<JsonElement>();
        var batchId = created.GetProperty("batchId").GetString()!;
        var jobIds = created.GetProperty("jobIds").EnumerateArray().Select(e => e.GetString()!).ToList();
        Assert.Equal(3, jobIds.Count);
        Assert.EndsWith($"/jobs/api/batches/{batchId}", response.Headers.Location!.ToString(), StringComparison.Ordinal);

        using var events = await host.Client.GetAsync($"/jobs/api/batches/{batchId}/events", HttpCompletionOption.ResponseHeadersRead);
        Assert.Equal("text/event-stream", events.Content.Headers.ContentType?.MediaType);
        var reading = ReadAllAsync(events);
        await host.Gates.For("held").Started.Task.WaitAsync(WebHost.Guard);
        host.Gates.For("held").Release.TrySetResult();
        var items = await reading.WaitAsync(WebHost.Guard);

        Assert.All(items, i => Assert.Equal("batch", i.EventType));
        var last = JsonDocument.Parse(items[^1].Data).RootElement;
        Assert.Equal(("Failed", true, 3, 2, 1, "Completed"), (last.GetProperty("state").GetString(), last.GetProperty("isFinished").GetBoolean(),
            last.GetProperty("total").GetInt32(), last.GetProperty("completed").GetInt32(), last.GetProperty("failed").GetInt32(), last.GetProperty("headStatus").GetString()));
        Assert.Equal(jobIds[2], last.GetProperty("failedJobs")[0].GetString());

        var status = await host.Client.GetFromJsonAsync<JsonElement>($"/jobs/api/batches/{batchId}");
        Assert.Equal("three", status.GetProperty("title").GetString());
        var member = await host.GetJobAsync(jobIds[0]);
        Assert.Equal(batchId, member.GetProperty("batchId").GetString());
        var listed = await host.Client.GetFromJsonAsync<JsonElement>($"/jobs/api/jobs?batch={batchId}");
        Assert.Equal(jobIds.Order(), listed.GetProperty("items").EnumerateArray().Select(j => j.GetProperty("id").GetString()).Order());
        Assert.Equal(20, (await host.WaitUntilFinishedAsync(batchId)).GetProperty("result").GetInt32());
    }

    [Fact]
    public async Task SubmitBatch_WithBadJobs_Is400_NamingEachJob_AndStoresNothing()
    {
        await using var host = await WebHost.StartAsync();

        var response = await host.Client.PostAsJsonAsync("/jobs/api/batches", new
        {
            jobs = new object[]
            {
                new { type = "steps", args = new { value = 1, steps = 1 } },
                new { type = "no-such-type", args = new { } },
                new { args = new { } },
                new { type = "steps", args = new { value = "x" } },
                new { type = "steps", args = new { value = 1, steps = 1 }, options = new { maxAttempts = 0 } },
            },
        });

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var errors = (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("errors");
        Assert.Equal(["jobs[2]"], errors.EnumerateObject().Select(p => p.Name));

        // With every type given, the manager names the rest, all at once.
        response = await host.Client.PostAsJsonAsync("/jobs/api/batches", new
        {
            jobs = new object[]
            {
                new { type = "steps", args = new { value = 1, steps = 1 } },
                new { type = "no-such-type", args = new { } },
                new { type = "steps", args = new { value = "x" } },
                new { type = "steps", args = new { value = 1, steps = 1 }, options = new { maxAttempts = 0 } },
            },
            continuation = new { type = "steps", args = new { value = 1, steps = 1 }, options = new { dependsOn = new[] { JobId.New().ToString() } } },
        });
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        errors = (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("errors");
        Assert.Equal(["continuation", "jobs[1]", "jobs[2]", "jobs[3]"], errors.EnumerateObject().Select(p => p.Name).Order());
        Assert.Contains("MaxAttempts", errors.GetProperty("jobs[3]")[0].GetString(), StringComparison.Ordinal);

        var empty = await host.Client.PostAsJsonAsync("/jobs/api/batches", new { jobs = Array.Empty<object>() });
        Assert.Equal(HttpStatusCode.BadRequest, empty.StatusCode);
        var notJson = await host.Client.PostAsync("/jobs/api/batches", new StringContent("jobs=1"));
        Assert.Equal(HttpStatusCode.UnsupportedMediaType, notJson.StatusCode);
        Assert.Empty((await host.Client.GetFromJsonAsync<JsonElement>("/jobs/api/jobs")).GetProperty("items").EnumerateArray());
    }

    [Fact]
    public async Task CancelBatch_Is202_ThenTheBatchIsCancelled_UnknownBatchesAre404()
    {
        await using var host = await WebHost.StartAsync();
        var response = await host.Client.PostAsJsonAsync("/jobs/api/batches", new { jobs = new object[] { new { type = "wait", args = new { key = "long" } } } });
        var batchId = (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("batchId").GetString()!;
        await host.Gates.For("long").Started.Task.WaitAsync(WebHost.Guard);

        var cancel = await host.Client.PostAsync($"/jobs/api/batches/{batchId}/cancel", null);

        Assert.Equal(HttpStatusCode.Accepted, cancel.StatusCode);
        Assert.Equal(2, (await cancel.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("cancelled").GetInt32());
        using var events = await host.Client.GetAsync($"/jobs/api/batches/{batchId}/events", HttpCompletionOption.ResponseHeadersRead);
        var last = JsonDocument.Parse((await ReadAllAsync(events).WaitAsync(WebHost.Guard))[^1].Data).RootElement;
        Assert.Equal(("Cancelled", 1), (last.GetProperty("state").GetString(), last.GetProperty("cancelled").GetInt32()));

        var unknown = JobId.New().ToString();
        Assert.Equal(HttpStatusCode.NotFound, (await host.Client.GetAsync($"/jobs/api/batches/{unknown}")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await host.Client.GetAsync($"/jobs/api/batches/{unknown}/events", HttpCompletionOption.ResponseHeadersRead)).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await host.Client.PostAsync($"/jobs/api/batches/not-an-id/cancel", null)).StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, (await host.Client.GetAsync("/jobs/api/jobs?batch=nope")).StatusCode);
    }

    private static Task<List<SseItem<string>>> ReadAllAsync(HttpResponseMessage response) => EventStreamTests.ReadAllAsync(response);
}
