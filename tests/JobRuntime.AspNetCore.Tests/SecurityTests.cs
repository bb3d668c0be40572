using System.Net;
using System.Net.Http.Json;
using Microsoft.AspNetCore.Authentication;
using Microsoft.Extensions.DependencyInjection;

namespace JobRuntime.AspNetCore.Tests;

/// <summary>Local-only by default, a policy when given, read-only mode, no cross-site changes.</summary>
public sealed class SecurityTests
{
    [Fact]
    public async Task WithoutAPolicy_ARequestFromAnotherMachineIsRefused()
    {
        await using var host = await WebHost.StartAsync(remoteAddress: "10.1.2.3");

        var response = await host.Client.GetAsync("/jobs/api/jobs");

        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
        Assert.Contains("local requests", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task WithAPolicy_ThePolicyDecides_EvenForLocalRequests()
    {
        await using var host = await WebHost.StartAsync(
            o => o.AuthorizationPolicy = "ops",
            builder: web =>
            {
                web.Services.AddAuthentication("none").AddScheme<AuthenticationSchemeOptions, NoUserHandler>("none", null);
                web.Services.AddAuthorization(a => a.AddPolicy("ops", p => p.RequireAuthenticatedUser()));
            });

        Assert.Equal(HttpStatusCode.Unauthorized, (await host.Client.GetAsync("/jobs/api/jobs")).StatusCode);
    }

    [Fact]
    public async Task ReadOnly_RefusesEveryChange_AndStillAnswersReads()
    {
        await using var host = await WebHost.StartAsync(o => o.ReadOnly = true);

        var submit = await host.Client.PostAsJsonAsync("/jobs/api/jobs", new { type = "steps", args = new { value = 1, steps = 1 } });
        Assert.Equal(HttpStatusCode.Forbidden, submit.StatusCode);
        Assert.Contains("read-only", await submit.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.OK, (await host.Client.GetAsync("/jobs/api/jobs")).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await host.Client.DeleteAsync($"/jobs/api/jobs/{JobId.New(DateTimeOffset.UtcNow)}")).StatusCode);
    }

    [Theory]
    [InlineData("Origin", "http://evil.example")]
    [InlineData("Sec-Fetch-Site", "cross-site")]
    public async Task ACrossSiteChange_IsRefused(string header, string value)
    {
        await using var host = await WebHost.StartAsync();
        using var request = new HttpRequestMessage(HttpMethod.Post, "/jobs/api/jobs") { Content = JsonContent.Create(new { type = "steps", args = new { value = 1, steps = 1 } }) };
        request.Headers.TryAddWithoutValidation(header, value);

        var response = await host.Client.SendAsync(request);

        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
        Assert.Equal(0, (await host.Client.GetFromJsonAsync<System.Text.Json.JsonElement>("/jobs/api/jobs")).GetProperty("items").GetArrayLength());

        // The page's own origin may.
        using var same = new HttpRequestMessage(HttpMethod.Post, "/jobs/api/jobs") { Content = JsonContent.Create(new { type = "steps", args = new { value = 1, steps = 1 } }) };
        same.Headers.TryAddWithoutValidation("Origin", host.Client.BaseAddress!.GetLeftPart(UriPartial.Authority));
        same.Headers.TryAddWithoutValidation("Sec-Fetch-Site", "same-origin");
        Assert.Equal(HttpStatusCode.Created, (await host.Client.SendAsync(same)).StatusCode);
    }

    /// <summary>An authentication scheme that never knows the user.</summary>
    private sealed class NoUserHandler(Microsoft.Extensions.Options.IOptionsMonitor<AuthenticationSchemeOptions> options, Microsoft.Extensions.Logging.ILoggerFactory logger, System.Text.Encodings.Web.UrlEncoder encoder)
        : AuthenticationHandler<AuthenticationSchemeOptions>(options, logger, encoder)
    {
        protected override Task<AuthenticateResult> HandleAuthenticateAsync() => Task.FromResult(AuthenticateResult.NoResult());
    }
}
