using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace JobRuntime.Benchmarks;

/// <summary>A Kestrel server on 127.0.0.1 with <c>MapJobRuntime("/jobs")</c>, for the web measurements.</summary>
internal static class BenchWeb
{
    public static async Task<(WebApplication App, Uri Address)> StartAsync(Action<IServiceCollection> services)
    {
        var web = WebApplication.CreateBuilder();
        web.Logging.ClearProviders();
        web.WebHost.UseUrls("http://127.0.0.1:0");
        services(web.Services);
        var app = web.Build();
        app.MapJobRuntime("/jobs");
        await app.StartAsync();
        return (app, new Uri(app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First()));
    }
}
