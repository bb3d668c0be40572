using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;

namespace JobRuntime.AspNetCore.Tests;

/// <summary>MapOpenApi describes every route MapJobRuntime maps (the dashboard's files aside).</summary>
public sealed class OpenApiTests
{
    [Fact]
    public async Task MapOpenApi_DescribesTheApi()
    {
        await using var host = await WebHost.StartAsync(builder: web => web.Services.AddOpenApi(), configureApp: app => app.MapOpenApi());

        var document = await host.Client.GetFromJsonAsync<JsonElement>("/openapi/v1.json");

        var paths = document.GetProperty("paths");
        foreach (var (path, method) in new[]
        {
            ("/jobs/api/jobs", "get"), ("/jobs/api/jobs", "post"), ("/jobs/api/jobs/{id}", "get"), ("/jobs/api/jobs/{id}", "delete"),
            ("/jobs/api/jobs/{id}/cancel", "post"), ("/jobs/api/jobs/{id}/rerun", "post"), ("/jobs/api/jobs/{id}/dump", "get"),
            ("/jobs/api/jobs/{id}/artifacts/{name}", "get"), ("/jobs/api/jobs/{id}/events", "get"), ("/jobs/api/events", "get"), ("/jobs/ws", "get"),
        })
        {
            JsonElement operation = default;
            Assert.True(paths.TryGetProperty(path, out var item) && item.TryGetProperty(method, out operation), $"{method.ToUpperInvariant()} {path} is not described");
            Assert.False(string.IsNullOrEmpty(operation.GetProperty("summary").GetString()));
            Assert.StartsWith("JobRuntime.", operation.GetProperty("operationId").GetString(), StringComparison.Ordinal);
        }

        Assert.False(paths.TryGetProperty("/jobs/ui/{file}", out _));
    }
}
