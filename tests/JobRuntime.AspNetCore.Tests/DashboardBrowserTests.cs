using System.Text.RegularExpressions;
using Microsoft.Playwright;
using Microsoft.Extensions.DependencyInjection;
using static Microsoft.Playwright.Assertions;

namespace JobRuntime.AspNetCore.Tests;

/// <summary>
/// One headless Chromium (Debian's package, at /usr/bin/chromium; never downloaded) for the dashboard's
/// tests. A missing browser fails the tests: they never skip.
/// </summary>
public sealed class Browser : IAsyncLifetime
{
    public const string Executable = "/usr/bin/chromium";

    private IPlaywright? _playwright;

    public IBrowser Instance { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        if (!File.Exists(Executable))
        {
            throw new InvalidOperationException($"The dashboard's browser tests need Chromium at {Executable} (apt-get install chromium); .ci/run installs it.");
        }

        _playwright = await Playwright.CreateAsync();
        Instance = await _playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions { ExecutablePath = Executable, Headless = true, Args = ["--no-sandbox"] });
    }

    public async Task DisposeAsync()
    {
        await Instance.DisposeAsync();
        _playwright?.Dispose();
    }
}

/// <summary>The dashboard in a real browser: each test waits on what the page shows, never on a fixed sleep, and saves a screenshot.</summary>
public sealed class DashboardBrowserTests(Browser browser) : IClassFixture<Browser>
{
    private static readonly float Patience = (float)WebHost.Guard.TotalMilliseconds;

    private static string Screenshots => Directory.CreateDirectory(Path.Combine(AppContext.BaseDirectory, "screenshots")).FullName;

    private async Task<IPage> OpenAsync(WebHost host, string path = "/jobs/ui/")
    {
        var page = await browser.Instance.NewPageAsync();
        page.SetDefaultTimeout(Patience);
        await page.GotoAsync(new Uri(host.Client.BaseAddress!, path).ToString());
        await page.WaitForSelectorAsync("body[data-ready=true]");
        return page;
    }

    private static Task ShotAsync(IPage page, string name) => page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(Screenshots, name + ".png"), FullPage = true });

    [Fact]
    public async Task TheListShowsJobsWithTheirBadges()
    {
        await using var host = await WebHost.StartAsync();
        var ids = new List<string>();
        for (var i = 0; i < 3; i++)
        {
            ids.Add(await host.SubmitAsync("steps", new { value = i, steps = 2 }, new { title = $"job number {i}" }));
        }

        foreach (var id in ids)
        {
            await host.WaitUntilFinishedAsync(id);
        }

        var page = await OpenAsync(host);
        await page.WaitForSelectorAsync($"#jobs tr[data-id='{ids[2]}'] .badge.Completed");
        Assert.Equal(3, await page.Locator("#jobs tbody tr").CountAsync());
        Assert.Equal("job number 0", await page.Locator($"#jobs tr[data-id='{ids[0]}'] a").TextContentAsync());
        await ShotAsync(page, "list");
    }

    [Fact]
    public async Task ARunningJobsBarAdvances_AndCancelTurnsItsBadgeCancelled()
    {
        await using var host = await WebHost.StartAsync();
        var id = await host.SubmitAsync("staged", new { key = "bar" });
        await host.Gates.For("bar").Started.Task.WaitAsync(WebHost.Guard);

        var page = await OpenAsync(host);
        var bar = page.Locator($"#jobs tr[data-id='{id}'] .bar > div");
        await Expect(bar).ToHaveAttributeAsync("style", new Regex("width: 25%"), new() { Timeout = Patience });
        await Expect(page.Locator("#active")).ToHaveTextAsync("1 active", new() { Timeout = Patience });
        host.Gates.For("bar").Release.TrySetResult();
        await Expect(bar).ToHaveAttributeAsync("style", new Regex("width: 75%"), new() { Timeout = Patience });
        await ShotAsync(page, "progress");

        await page.Locator($"#jobs tr[data-id='{id}'] button.action").ClickAsync();
        await page.WaitForSelectorAsync($"#jobs tr[data-id='{id}'] .badge.Cancelled");
        await Expect(page.Locator("#active")).ToHaveTextAsync("0 active", new() { Timeout = Patience });
        await ShotAsync(page, "cancelled");
    }

    [Fact]
    public async Task RerunFromTheDetailPage_MakesANewJob()
    {
        await using var host = await WebHost.StartAsync();
        var id = await host.SubmitAsync("steps", new { value = 5, steps = 1 });
        await host.WaitUntilFinishedAsync(id);

        var page = await OpenAsync(host, $"/jobs/ui/#/job/{id}");
        await page.WaitForSelectorAsync("#detail-title .badge.Completed");
        Assert.Contains("\"value\": 5", await page.Locator("#detail-args").TextContentAsync(), StringComparison.Ordinal);
        Assert.Equal("10", await page.Locator("#detail-result").TextContentAsync());
        await page.Locator("#rerun").ClickAsync();

        // The page moves to the new job (a hash change, not a page load), which names the one it re-runs.
        await Expect(page.Locator("#detail-chain a")).ToHaveTextAsync(id, new() { Timeout = Patience });
        Assert.Matches(new Regex($"#/job/(?!{id})[0-9a-f]{{32}}$"), page.Url);
        await page.WaitForSelectorAsync("#detail-title .badge.Completed");
        await ShotAsync(page, "rerun");
    }

    [Fact]
    public async Task TheChain_LinksAJobToItsDependents_AndBackToItsParent()
    {
        await using var host = await WebHost.StartAsync();
        var parent = await host.SubmitAsync("steps", new { value = 1, steps = 1 });
        var child = await host.SubmitAsync("steps", new { value = 2, steps = 1 }, new { dependsOn = new[] { parent } });
        await host.WaitUntilFinishedAsync(child);

        var page = await OpenAsync(host, $"/jobs/ui/#/job/{parent}");
        var link = page.Locator("#detail-chain li", new() { HasText = "dependent" }).Locator("a");
        await Expect(link).ToHaveTextAsync(child, new() { Timeout = Patience });
        await ShotAsync(page, "dependents");
        await link.ClickAsync();

        await Expect(page.Locator("#detail-chain li", new() { HasText = "parent" }).Locator("a")).ToHaveTextAsync(parent, new() { Timeout = Patience });
        Assert.EndsWith($"#/job/{child}", page.Url, StringComparison.Ordinal);
    }

    [Fact]
    public async Task DeleteAsksFirst_ThenTheJobIsGone()
    {
        await using var host = await WebHost.StartAsync();
        var id = await host.SubmitAsync("steps", new { value = 1, steps = 1 });
        await host.WaitUntilFinishedAsync(id);
        var page = await OpenAsync(host, $"/jobs/ui/#/job/{id}");
        await page.WaitForSelectorAsync("#detail-title .badge.Completed");

        // Declined: nothing happens.
        var asked = new List<string>();
        void Decline(object? sender, IDialog dialog)
        {
            asked.Add(dialog.Message);
            _ = dialog.DismissAsync();
        }

        page.Dialog += Decline;
        await page.Locator("#delete").ClickAsync();
        Assert.Contains(id, Assert.Single(asked), StringComparison.Ordinal);
        Assert.Equal(System.Net.HttpStatusCode.OK, (await host.Client.GetAsync($"/jobs/api/jobs/{id}")).StatusCode);

        // Confirmed: the job is deleted and the page goes back to the list.
        page.Dialog -= Decline;
        page.Dialog += (_, dialog) => _ = dialog.AcceptAsync();
        await page.Locator("#delete").ClickAsync();
        await page.WaitForSelectorAsync("#list-view:not([hidden])");
        Assert.Equal(System.Net.HttpStatusCode.NotFound, (await host.Client.GetAsync($"/jobs/api/jobs/{id}")).StatusCode);
        Assert.Equal(0, await page.Locator($"#jobs tr[data-id='{id}']").CountAsync());
        await ShotAsync(page, "deleted");
    }

    [Fact]
    public async Task TheDetailPage_ShowsAFailedJobsStackTrace_AndATimedOutJobsDumpWithItsFrameMarked()
    {
        await using var host = await WebHost.StartAsync(runtime: r => r.Services.Configure<JobRuntimeOptions>(o => o.RetryBaseDelay = TimeSpan.FromMilliseconds(10)));
        var failed = await host.SubmitAsync("fail", new { why = "the <b>instrument</b> said no" }, new { maxAttempts = 2 });
        var hung = await host.SubmitAsync("wait", new { key = "hung" }, new { timeout = "00:00:00.200" });
        await host.WaitUntilFinishedAsync(failed);
        await host.WaitUntilFinishedAsync(hung);

        var page = await OpenAsync(host, $"/jobs/ui/#/job/{failed}");
        await page.WaitForSelectorAsync("#detail-title .badge.Failed");
        var error = await page.Locator("#detail-error").TextContentAsync();
        Assert.Contains("System.InvalidOperationException: the <b>instrument</b> said no", error, StringComparison.Ordinal);
        Assert.Contains("FailHandler.ExecuteAsync", error, StringComparison.Ordinal);
        Assert.Equal(0, await page.Locator("#detail-error b").CountAsync());

        // Both attempts' errors, oldest first, as text.
        await Expect(page.Locator("#detail-attempts li")).ToHaveCountAsync(2);
        Assert.StartsWith("attempt 1 at ", await page.Locator("#detail-attempts li").First.TextContentAsync(), StringComparison.Ordinal);
        await Expect(page.Locator("#detail-attempts li").Nth(1)).ToContainTextAsync("System.InvalidOperationException: the <b>instrument</b> said no");
        Assert.Equal(0, await page.Locator("#detail-attempts b").CountAsync());
        await ShotAsync(page, "failed");

        await page.GotoAsync(new Uri(host.Client.BaseAddress!, $"/jobs/ui/#/job/{hung}").ToString());
        await page.WaitForSelectorAsync("#detail-title .badge.TimedOut");
        await page.WaitForSelectorAsync("#detail-dump .hot");
        Assert.Contains($"<<< job {hung} timeout", await page.Locator("#detail-dump .hot").First.TextContentAsync(), StringComparison.Ordinal);
        await ShotAsync(page, "timed-out");
    }

    [Fact]
    public async Task APageOnNodeA_ShowsTheLiveProgressOfAJobRunningOnNodeB()
    {
        // Two nodes on one PostgreSQL schema. Node A serves the page and claims only its own queue;
        // node B runs the job. A's page learns of B's progress through the store's notifications.
        var server = await JobRuntime.TestSupport.PostgresServer.GetAsync();
        var schema = JobRuntime.TestSupport.PostgresServer.NewSchema();
        await using var nodeA = await WebHost.StartAsync(runtime: jobs =>
        {
            jobs.Services.Configure<JobRuntimeOptions>(o => o.Queues.Add("node-a-only"));
            jobs.UsePostgreSql(o =>
            {
                o.ConnectionString = server.ConnectionString;
                o.Schema = schema;
            });
        });
        var gates = new Gates();
        var services = new Microsoft.Extensions.DependencyInjection.ServiceCollection().AddSingleton(gates);
        WebHost.AddHandlers(services.AddJobRuntime().UsePostgreSql(o =>
        {
            o.ConnectionString = server.ConnectionString;
            o.Schema = schema;
        }));
        await using var nodeB = services.BuildServiceProvider();
        var jobsB = nodeB.GetRequiredService<IJobManager>();
        var id = (await jobsB.SubmitAsync("staged", new StagedArgs("far"))).ToString();
        await gates.For("far").Started.Task.WaitAsync(WebHost.Guard);

        var page = await OpenAsync(nodeA);
        var bar = page.Locator($"#jobs tr[data-id='{id}'] .bar > div");
        await Expect(page.Locator($"#jobs tr[data-id='{id}'] .badge")).ToHaveTextAsync("Running", new() { Timeout = Patience });
        await Expect(bar).ToHaveAttributeAsync("style", new Regex("width: 25%"), new() { Timeout = Patience });
        gates.For("far").Release.TrySetResult();
        await Expect(bar).ToHaveAttributeAsync("style", new Regex("width: 75%"), new() { Timeout = Patience });
        await ShotAsync(page, "other-node");
        gates.For("far/2").Release.TrySetResult();
        await Expect(page.Locator($"#jobs tr[data-id='{id}'] .badge")).ToHaveTextAsync("Completed", new() { Timeout = Patience });
    }
}
