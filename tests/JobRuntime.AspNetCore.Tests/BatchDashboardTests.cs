using System.Net.Http.Json;
using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace JobRuntime.AspNetCore.Tests;

/// <summary>A batch on the dashboard, in a real browser: a member's page follows the whole batch live, links to its jobs and its head.</summary>
public sealed class BatchDashboardTests(Browser browser) : IClassFixture<Browser>
{
    private static readonly float Patience = (float)WebHost.Guard.TotalMilliseconds;

    [Fact]
    public async Task AMembersPage_ShowsTheBatchAdvancing_ThenItsJobsAndItsHead()
    {
        await using var host = await WebHost.StartAsync();
        var response = await host.Client.PostAsJsonAsync("/jobs/api/batches", new
        {
            title = "two waits",
            jobs = new object[] { new { type = "wait", args = new { key = "b-1" } }, new { type = "wait", args = new { key = "b-2" } } },
        });
        var created = await response.Content.ReadFromJsonAsync<JsonElement>();
        var batchId = created.GetProperty("batchId").GetString()!;
        var first = created.GetProperty("jobIds")[0].GetString()!;
        await host.Gates.For("b-1").Started.Task.WaitAsync(WebHost.Guard);
        await host.Gates.For("b-2").Started.Task.WaitAsync(WebHost.Guard);

        var page = await browser.Instance.NewPageAsync();
        page.SetDefaultTimeout(Patience);
        await page.GotoAsync(new Uri(host.Client.BaseAddress!, $"/jobs/ui/#/job/{first}").ToString());
        await page.WaitForSelectorAsync("body[data-ready=true]");
        await Expect(page.Locator("#batch-link")).ToHaveTextAsync("two waits", new() { Timeout = Patience });
        await Expect(page.Locator("#batch-summary")).ToContainTextAsync("0/2 finished", new() { Timeout = Patience });
        await Expect(page.Locator("#batch-state .badge")).ToHaveTextAsync("Running", new() { Timeout = Patience });

        host.Gates.For("b-1").Release.TrySetResult();
        await Expect(page.Locator("#batch-summary")).ToContainTextAsync("1/2 finished", new() { Timeout = Patience });
        await Expect(page.Locator("#batch-bar")).ToHaveAttributeAsync("style", new Regex("width: 50%"), new() { Timeout = Patience });
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(Directory.CreateDirectory(Path.Combine(AppContext.BaseDirectory, "screenshots")).FullName, "batch.png"), FullPage = true });
        host.Gates.For("b-2").Release.TrySetResult();
        await Expect(page.Locator("#batch-state .badge")).ToHaveTextAsync("Succeeded", new() { Timeout = Patience });
        await Expect(page.Locator("#batch-bar")).ToHaveAttributeAsync("style", new Regex("width: 100%"), new() { Timeout = Patience });
        await Expect(page.Locator("#cancel-batch")).ToBeHiddenAsync(new() { Timeout = Patience });

        await page.Locator("#batch-jobs").ClickAsync();
        await Expect(page.Locator("#list-note")).ToHaveTextAsync($"Jobs of batch {batchId}", new() { Timeout = Patience });
        await Expect(page.Locator("#jobs tbody tr")).ToHaveCountAsync(2, new() { Timeout = Patience });

        await page.GotoAsync(new Uri(host.Client.BaseAddress!, $"/jobs/ui/#/job/{first}").ToString());
        await page.Locator("#batch-link").ClickAsync();
        await Expect(page.Locator("#detail-fields")).ToContainTextAsync(JobBatch.HeadType, new() { Timeout = Patience });
        await Expect(page.Locator("#detail-title .badge")).ToHaveTextAsync("Completed", new() { Timeout = Patience });
    }
}
