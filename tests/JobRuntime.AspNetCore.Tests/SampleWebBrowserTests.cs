using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using JobRuntime.Samples.Web;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace JobRuntime.AspNetCore.Tests;

/// <summary>
/// The web sample (samples/JobRuntime.Samples.Web) as a user meets it: its page in headless Chromium
/// starts the rheology fit → NUTS chain, follows each chain's bar over the WebSocket, shows the result
/// tables, cancels a long run, and shows a hung job's thread dump. On a real SQLite file.
/// </summary>
public sealed class SampleWebBrowserTests(Browser browser) : IClassFixture<Browser>
{
    private static readonly float Patience = (float)TimeSpan.FromMinutes(3).TotalMilliseconds;

    private static async Task<(WebApplication App, string Address, string Directory)> StartAsync()
    {
        var directory = Directory.CreateTempSubdirectory("jr-web-sample-").FullName;
        var app = RheologyWeb.Build([], b =>
        {
            b.WebHost.UseUrls("http://127.0.0.1:0");
            b.Configuration["db"] = Path.Combine(directory, "jobs.db");
        });
        await app.StartAsync();
        return (app, app.Urls.Single(), directory);
    }

    private async Task<IPage> OpenAsync(string address)
    {
        var page = await browser.Instance.NewPageAsync();
        page.SetDefaultTimeout(Patience);
        await page.GotoAsync(address + "/");
        return page;
    }

    private static Task ShotAsync(IPage page, string name)
        => page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(Directory.CreateDirectory(Path.Combine(AppContext.BaseDirectory, "screenshots")).FullName, name + ".png"), FullPage = true });

    private static async Task StopAsync(WebApplication app, string directory)
    {
        await app.StopAsync();
        await app.DisposeAsync();
        Directory.Delete(directory, recursive: true);
    }

    [Fact]
    public async Task ThePage_RunsTheFitThenNuts_WithABarPerChain_AndShowsBothTables()
    {
        var (app, address, directory) = await StartAsync();
        try
        {
            var page = await OpenAsync(address);
            await page.Locator("#chains").FillAsync("3");
            await page.Locator("#warmup").FillAsync("150");
            await page.Locator("#draws").FillAsync("150");
            await page.Locator("#run").ClickAsync();

            // One row per chain. (That the bars move with the job's "chain" events over the WebSocket is
            // the next test's: this short run may end before the page's watch arrives, on a loaded machine.)
            await Expect(page.Locator(".chain")).ToHaveCountAsync(3);
            await Expect(page.Locator("#fit-status")).ToHaveTextAsync("Completed", new() { Timeout = Patience });
            await Expect(page.Locator("#fit-results tr")).ToHaveCountAsync(5, new() { Timeout = Patience });
            await Expect(page.Locator("#nuts-status")).ToHaveTextAsync("Completed", new() { Timeout = Patience });
            await Expect(page.Locator("#posterior-results")).ToBeVisibleAsync(new() { Timeout = Patience });

            // Once the job ended, each row says what the result says of its chain.
            for (var c = 0; c < 3; c++)
            {
                var chain = page.Locator($".chain[data-chain='{c}']");
                await Expect(chain).ToHaveClassAsync("chain done");
                await Expect(chain).ToContainTextAsync("done, step size");
                await Expect(chain).ToContainTextAsync("divergences");
            }

            var posterior = await page.Locator("#posterior-results").TextContentAsync();
            foreach (var name in new[] { "G1", "tau1", "G2", "tau2", "sigma" })
            {
                Assert.Contains(name, posterior, StringComparison.Ordinal);
            }

            Assert.Contains("warm-started from the fit", posterior, StringComparison.Ordinal);
            await ShotAsync(page, "sample-run");

            // What the page showed is what the API holds.
            using var http = new HttpClient { BaseAddress = new Uri(address) };
            var list = await http.GetFromJsonAsync<JsonElement>("/jobs/api/jobs?type=rheology-nuts");
            var nuts = list.GetProperty("items")[0];
            Assert.Equal("Completed", nuts.GetProperty("status").GetString());
            Assert.Equal(3, nuts.GetProperty("result").GetProperty("chains").GetArrayLength());
        }
        finally
        {
            await StopAsync(app, directory);
        }
    }

    [Fact]
    public async Task Cancel_StopsALongRun_AndAHungJobsDumpIsShown()
    {
        var (app, address, directory) = await StartAsync();
        try
        {
            var page = await OpenAsync(address);
            await page.Locator("#chains").FillAsync("2");
            // A warm-up of a million iterations: minutes of sampling, so the cancel meets it running.
            await page.Locator("#warmup").FillAsync("1000000");
            await page.Locator("#draws").FillAsync("100");
            await page.Locator("#run").ClickAsync();

            // A bar moves only with the job's live "chain" events over the WebSocket; once one has, the
            // sampler is running (a million warm-up iterations: minutes) and is cancelled.
            await Expect(page.Locator(".chain[data-iteration]").First).ToBeAttachedAsync(new() { Timeout = Patience });
            await Expect(page.Locator(".chain.warmup").First).ToBeAttachedAsync();
            await page.Locator("#cancel").ClickAsync();
            await Expect(page.Locator("#nuts-status")).ToHaveTextAsync("Cancelled", new() { Timeout = Patience });
            await Expect(page.Locator("#message")).ToContainTextAsync("Cancelled");
            await ShotAsync(page, "sample-cancelled");

            await page.Locator("#hang").ClickAsync();
            await Expect(page.Locator("#hang-status")).ToHaveTextAsync("TimedOut", new() { Timeout = Patience });
            await Expect(page.Locator("#hang-dump .frame", new() { HasText = "StuckInFitLoop" })).ToBeVisibleAsync(new() { Timeout = Patience });
            Assert.Contains("<<< job", await page.Locator("#hang-dump .frame").First.TextContentAsync(), StringComparison.Ordinal);
            await ShotAsync(page, "sample-hang");

            // Bad input from the page's endpoint: every problem named, nothing stored.
            using var http = new HttpClient { BaseAddress = new Uri(address) };
            var before = (await http.GetFromJsonAsync<JsonElement>("/jobs/api/jobs")).GetProperty("items").GetArrayLength();
            var bad = await http.PostAsJsonAsync("/rheology/run", new { chains = 0, modes = 3 });
            Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
            var problem = await bad.Content.ReadAsStringAsync();
            Assert.Contains("chains must be between 1 and 8", problem, StringComparison.Ordinal);
            Assert.Contains("modes must be 1 or 2", problem, StringComparison.Ordinal);
            Assert.Equal(before, (await http.GetFromJsonAsync<JsonElement>("/jobs/api/jobs")).GetProperty("items").GetArrayLength());
        }
        finally
        {
            await StopAsync(app, directory);
        }
    }
}
