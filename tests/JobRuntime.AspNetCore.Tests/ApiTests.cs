using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;

namespace JobRuntime.AspNetCore.Tests;

/// <summary>The REST endpoints, against a real server on loopback.</summary>
public sealed class ApiTests
{
    [Fact]
    public async Task Submit_ThenView_ArgsAndResultAreJsonValues_StatusesAreNames()
    {
        await using var host = await WebHost.StartAsync();

        var response = await host.Client.PostAsJsonAsync("/jobs/api/jobs", new { type = "steps", args = new { value = 21, steps = 3 }, options = new { title = "twenty-one", tags = new[] { "web" } } });
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        var id = (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetString()!;
        Assert.Equal($"/jobs/api/jobs/{id}", response.Headers.Location!.OriginalString);

        var job = await host.WaitUntilFinishedAsync(id);
        Assert.Equal("Completed", job.GetProperty("status").GetString());
        Assert.Equal(42, job.GetProperty("result").GetInt32());
        Assert.Equal(21, job.GetProperty("args").GetProperty("value").GetInt32());
        Assert.Equal("twenty-one", job.GetProperty("title").GetString());
        Assert.Equal(100, job.GetProperty("progress").GetProperty("percentage").GetDouble());
        Assert.False(job.TryGetProperty("owner", out _));
    }

    [Fact]
    public async Task List_FiltersByStatusAndTag_AndPagesWithACursor()
    {
        await using var host = await WebHost.StartAsync();
        var ids = new List<string>();
        for (var i = 0; i < 5; i++)
        {
            ids.Add(await host.SubmitAsync("steps", new { value = i, steps = 1 }, new { tags = new[] { "batch" } }));
        }

        foreach (var id in ids)
        {
            await host.WaitUntilFinishedAsync(id);
        }

        var first = await host.Client.GetFromJsonAsync<JsonElement>("/jobs/api/jobs?status=Completed&tag=batch&limit=3");
        Assert.Equal(3, first.GetProperty("items").GetArrayLength());
        var cursor = first.GetProperty("nextCursor").GetString();
        var second = await host.Client.GetFromJsonAsync<JsonElement>($"/jobs/api/jobs?status=completed&tag=batch&limit=3&after={cursor}");
        Assert.Equal(2, second.GetProperty("items").GetArrayLength());
        Assert.Equal(JsonValueKind.Null, second.GetProperty("nextCursor").ValueKind);
        var listed = first.GetProperty("items").EnumerateArray().Concat(second.GetProperty("items").EnumerateArray()).Select(j => j.GetProperty("id").GetString()).ToList();
        Assert.Equal(ids.AsEnumerable().Reverse(), listed);

        var bad = await host.Client.GetAsync("/jobs/api/jobs?status=Sleeping&limit=0");
        Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
        var problem = await bad.Content.ReadAsStringAsync();
        Assert.Contains("Sleeping", problem, StringComparison.Ordinal);
        Assert.Contains("limit", problem, StringComparison.Ordinal);
    }

    [Fact]
    public async Task View_ListsTheJobsDependents_AndTheListFiltersByParent()
    {
        await using var host = await WebHost.StartAsync();
        var parent = await host.SubmitAsync("steps", new { value = 1, steps = 1 });
        var first = await host.SubmitAsync("steps", new { value = 2, steps = 1 }, new { dependsOn = new[] { parent } });
        var second = await host.SubmitAsync("steps", new { value = 3, steps = 1 }, new { dependsOn = new[] { parent } });
        await host.WaitUntilFinishedAsync(second);

        var view = await host.Client.GetFromJsonAsync<JsonElement>($"/jobs/api/jobs/{parent}");
        Assert.Equal([second, first], view.GetProperty("dependents").EnumerateArray().Select(d => d.GetString()));
        var child = await host.Client.GetFromJsonAsync<JsonElement>($"/jobs/api/jobs/{first}");
        Assert.Equal([parent], child.GetProperty("dependsOn").EnumerateArray().Select(d => d.GetString()));
        Assert.Equal(0, child.GetProperty("dependents").GetArrayLength());

        var listed = await host.Client.GetFromJsonAsync<JsonElement>($"/jobs/api/jobs?dependsOn={parent}");
        Assert.Equal([second, first], listed.GetProperty("items").EnumerateArray().Select(j => j.GetProperty("id").GetString()));
        var bad = await host.Client.GetAsync("/jobs/api/jobs?dependsOn=nope");
        Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
        Assert.Contains("'nope' is not a job id", await bad.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("""{ "type": "no-such-type", "args": {} }""", "no-such-type")]
    [InlineData("""{ "type": "steps", "args": { "value": "not a number" } }""", "args")]
    [InlineData("""{ "type": "steps", "args": { "value": 1, "steps": 1 }, "options": { "maxAttempts": 0, "delay": "-00:01:00" } }""", "MaxAttempts")]
    [InlineData("""{ "type": "steps", "args": { "value": 1, "steps": 1 }, "options": { "retry": { "delay": "-00:00:05" } } }""", "Retry.Delay must be positive")]
    [InlineData("""{ "args": {} }""", "type is required")]
    [InlineData("""{ "type": "steps", "args": """, "not valid JSON")]
    public async Task BadSubmit_Is400NamingTheProblem_AndNothingIsStored(string body, string named)
    {
        await using var host = await WebHost.StartAsync();

        var response = await host.Client.PostAsync("/jobs/api/jobs", new StringContent(body, Encoding.UTF8, "application/json"));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        Assert.Contains(named, await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal(0, (await host.Client.GetFromJsonAsync<JsonElement>("/jobs/api/jobs")).GetProperty("items").GetArrayLength());
    }

    [Theory]
    [InlineData("""{ "type": "no-such-type", "args": {}, "options": { "maxAttempts": 0, "queue": " " } }""", "type")]
    [InlineData("""{ "type": "steps", "args": { "value": "x" }, "options": { "maxAttempts": 0, "queue": " " } }""", "args")]
    public async Task BadSubmit_NamesEveryProblem_TheOptionsOneByOne(string body, string other)
    {
        await using var host = await WebHost.StartAsync();

        var response = await host.Client.PostAsync("/jobs/api/jobs", new StringContent(body, Encoding.UTF8, "application/json"));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var errors = (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("errors");
        Assert.Equal(1, errors.GetProperty(other).GetArrayLength());
        Assert.Equal(
            ["MaxAttempts must be at least 1 (was 0).", "Queue must not be blank."],
            errors.GetProperty("options").EnumerateArray().Select(e => e.GetString()));
        Assert.Equal(0, (await host.Client.GetFromJsonAsync<JsonElement>("/jobs/api/jobs")).GetProperty("items").GetArrayLength());
    }

    [Fact]
    public async Task Submit_WithItsOwnRetryTiming_KeepsItWithTheJob()
    {
        await using var host = await WebHost.StartAsync();

        var id = await host.SubmitAsync("steps", new { value = 1, steps = 1 }, new { maxAttempts = 4, retry = new { backoff = "Fixed", delay = "00:00:05", jitter = 0 } });

        var retry = (await host.GetJobAsync(id)).GetProperty("retry");
        Assert.Equal(("Fixed", "00:00:05", "00:10:00", 0.0), (retry.GetProperty("backoff").GetString(), retry.GetProperty("delay").GetString(), retry.GetProperty("maxDelay").GetString(), retry.GetProperty("jitter").GetDouble()));
    }

    private sealed class NoStepsFilter : IJobSubmitFilter
    {
        public ValueTask<JobSubmitOptions> OnSubmitAsync(JobSubmitContext submit, CancellationToken cancellationToken)
            => submit.JobType == "steps" && submit.Options.Title is null
                ? throw new JobSubmitRejectedException("A steps job needs a title here.")
                : ValueTask.FromResult(submit.Options);
    }

    [Fact]
    public async Task Submit_RefusedByTheApplicationsFilter_Is400WithItsReason_AndNothingIsStored()
    {
        await using var host = await WebHost.StartAsync(runtime: r => r.AddSubmitFilter<NoStepsFilter>());

        var response = await host.Client.PostAsync("/jobs/api/jobs", new StringContent("""{ "type": "steps", "args": { "value": 1, "steps": 1 } }""", Encoding.UTF8, "application/json"));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var errors = (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("errors");
        Assert.Equal("A steps job needs a title here.", errors.GetProperty("submit")[0].GetString());
        Assert.Equal(0, (await host.Client.GetFromJsonAsync<JsonElement>("/jobs/api/jobs")).GetProperty("items").GetArrayLength());
        Assert.Equal(HttpStatusCode.Created, (await host.Client.PostAsync("/jobs/api/jobs", new StringContent("""{ "type": "steps", "args": { "value": 1, "steps": 1 }, "options": { "title": "ok" } }""", Encoding.UTF8, "application/json"))).StatusCode);
    }

    [Fact]
    public async Task Submit_NotJsonOrTooLarge_IsRefused()
    {
        await using var host = await WebHost.StartAsync(o => o.MaxSubmitBytes = 1_000);

        var text = await host.Client.PostAsync("/jobs/api/jobs", new StringContent("type=steps", Encoding.UTF8, "application/x-www-form-urlencoded"));
        Assert.Equal(HttpStatusCode.UnsupportedMediaType, text.StatusCode);
        var large = await host.Client.PostAsync("/jobs/api/jobs", new StringContent($$"""{ "type": "steps", "args": { "value": 1, "steps": 1 }, "options": { "title": "{{new string('x', 2_000)}}" } }""", Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, large.StatusCode);
        Assert.Equal(0, (await host.Client.GetFromJsonAsync<JsonElement>("/jobs/api/jobs")).GetProperty("items").GetArrayLength());
    }

    [Fact]
    public async Task CancelRerunDelete_WithTheirConflictsAndNotFounds()
    {
        await using var host = await WebHost.StartAsync();
        var id = await host.SubmitAsync("wait", new { key = "manage" });
        await host.Gates.For("manage").Started.Task.WaitAsync(WebHost.Guard);

        Assert.Equal(HttpStatusCode.Conflict, (await host.Client.DeleteAsync($"/jobs/api/jobs/{id}")).StatusCode);
        Assert.Equal(HttpStatusCode.Conflict, (await host.Client.PostAsync($"/jobs/api/jobs/{id}/rerun", null)).StatusCode);
        Assert.Equal(HttpStatusCode.Accepted, (await host.Client.PostAsync($"/jobs/api/jobs/{id}/cancel", null)).StatusCode);
        Assert.Equal("Cancelled", (await host.WaitUntilFinishedAsync(id)).GetProperty("status").GetString());
        Assert.Equal(HttpStatusCode.Conflict, (await host.Client.PostAsync($"/jobs/api/jobs/{id}/cancel", null)).StatusCode);

        var rerun = await host.Client.PostAsync($"/jobs/api/jobs/{id}/rerun", null);
        Assert.Equal(HttpStatusCode.Created, rerun.StatusCode);
        var again = (await rerun.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetString()!;
        Assert.NotEqual(id, again);
        Assert.Equal(id, (await host.GetJobAsync(again)).GetProperty("rerunOf").GetString());

        Assert.Equal(HttpStatusCode.NoContent, (await host.Client.DeleteAsync($"/jobs/api/jobs/{id}")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await host.Client.GetAsync($"/jobs/api/jobs/{id}")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await host.Client.PostAsync($"/jobs/api/jobs/{id}/cancel", null)).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await host.Client.GetAsync("/jobs/api/jobs/not-an-id")).StatusCode);
        host.Gates.For("manage").Release.TrySetResult();
        await host.WaitUntilFinishedAsync(again);
    }

    [Fact]
    public async Task ThreadDump_OfATimedOutJob_AsJsonOrText()
    {
        await using var host = await WebHost.StartAsync();
        var id = await host.SubmitAsync("wait", new { key = "hang" }, new { timeout = "00:00:00.200" });
        Assert.Equal("TimedOut", (await host.WaitUntilFinishedAsync(id)).GetProperty("status").GetString());

        var json = await host.Client.GetFromJsonAsync<JsonElement>($"/jobs/api/jobs/{id}/dump");
        Assert.Equal("timeout", json.GetProperty("reason").GetString());
        using var request = new HttpRequestMessage(HttpMethod.Get, $"/jobs/api/jobs/{id}/dump");
        request.Headers.Accept.ParseAdd("text/plain");
        var text = await (await host.Client.SendAsync(request)).Content.ReadAsStringAsync();
        Assert.Contains($"<<< job {id} timeout", text, StringComparison.Ordinal);

        var done = await host.SubmitAsync("steps", new { value = 1, steps = 1 });
        await host.WaitUntilFinishedAsync(done);
        Assert.Equal(HttpStatusCode.NotFound, (await host.Client.GetAsync($"/jobs/api/jobs/{done}/dump")).StatusCode);
    }
}
