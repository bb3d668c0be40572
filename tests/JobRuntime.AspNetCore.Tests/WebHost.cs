using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace JobRuntime.AspNetCore.Tests;

public sealed record StepsArgs(int Value, int Steps);

/// <summary>Reports progress step by step, then returns twice the value.</summary>
public sealed class StepsHandler : IJobHandler<StepsArgs, int>
{
    public async ValueTask<int> ExecuteAsync(StepsArgs args, JobContext context)
    {
        for (var i = 1; i <= args.Steps; i++)
        {
            context.ReportProgress(i, args.Steps, $"step {i}");
            await Task.Yield();
        }

        return args.Value * 2;
    }
}

public sealed record StagedArgs(string Key);

/// <summary>Reports 1 of 4, waits for the test; reports 3 of 4, waits again; then returns.</summary>
public sealed class StagedHandler(Gates gates) : IJobHandler<StagedArgs, int>
{
    public async ValueTask<int> ExecuteAsync(StagedArgs args, JobContext context)
    {
        context.ReportProgress(1, 4, "first quarter");
        gates.For(args.Key).Started.TrySetResult();
        await gates.For(args.Key).Release.Task.WaitAsync(context.CancellationToken);
        context.ReportProgress(3, 4, "three quarters");
        await gates.For(args.Key + "/2").Release.Task.WaitAsync(context.CancellationToken);
        return 4;
    }
}

public sealed record FailArgs(string Why);

/// <summary>Fails with the reason it was given.</summary>
public sealed class FailHandler : IJobHandler<FailArgs, int>
{
    public ValueTask<int> ExecuteAsync(FailArgs args, JobContext context) => throw new InvalidOperationException(args.Why);
}

public sealed record WaitArgs(string Key);

/// <summary>Waits until the test releases it (or its token trips).</summary>
public sealed class WaitHandler(Gates gates) : IJobHandler<WaitArgs, string>
{
    public async ValueTask<string> ExecuteAsync(WaitArgs args, JobContext context)
    {
        var gate = gates.For(args.Key);
        gate.Started.TrySetResult();
        await gate.Release.Task.WaitAsync(context.CancellationToken);
        return args.Key;
    }
}

public sealed class Gates
{
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, (TaskCompletionSource Started, TaskCompletionSource Release)> _gates = new();

    public (TaskCompletionSource Started, TaskCompletionSource Release) For(string key)
        => _gates.GetOrAdd(key, _ => (new(TaskCreationOptions.RunContinuationsAsynchronously), new(TaskCreationOptions.RunContinuationsAsynchronously)));
}

/// <summary>A real Kestrel server on 127.0.0.1 with the runtime and MapJobRuntime("/jobs").</summary>
public sealed class WebHost : IAsyncDisposable
{
    private readonly WebApplication _app;

    private WebHost(WebApplication app, HttpClient client)
    {
        _app = app;
        Client = client;
    }

    public HttpClient Client { get; }

    public IServiceProvider Services => _app.Services;

    public Gates Gates => _app.Services.GetRequiredService<Gates>();

    public static readonly TimeSpan Guard = TimeSpan.FromMinutes(1);

    public static async Task<WebHost> StartAsync(Action<JobRuntimeWebOptions>? configure = null, string? remoteAddress = null, Action<WebApplicationBuilder>? builder = null, Action<JobRuntimeBuilder>? runtime = null, Action<WebApplication>? configureApp = null)
    {
        var web = WebApplication.CreateBuilder();
        web.Logging.ClearProviders();
        web.WebHost.UseUrls("http://127.0.0.1:0");
        web.Services.AddSingleton<Gates>();
        var jobs = web.Services.AddJobRuntime(o => o.MaxConcurrency = 4);
        AddHandlers(jobs);
        runtime?.Invoke(jobs);
        builder?.Invoke(web);
        var app = web.Build();
        if (remoteAddress is not null)
        {
            // Plays a request from another machine.
            app.Use((context, next) =>
            {
                context.Connection.RemoteIpAddress = IPAddress.Parse(remoteAddress);
                return next(context);
            });
        }

        app.MapJobRuntime("/jobs", configure);
        configureApp?.Invoke(app);
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        return new WebHost(app, new HttpClient { BaseAddress = new Uri(address), Timeout = Guard });
    }

    /// <summary>The handlers every test runtime has (a second node too).</summary>
    public static JobRuntimeBuilder AddHandlers(JobRuntimeBuilder jobs) => jobs
        .AddHandler<StepsHandler>("steps")
        .AddHandler<WaitHandler>("wait")
        .AddHandler<StagedHandler>("staged")
        .AddHandler<FailHandler>("fail");

    public async Task<string> SubmitAsync(string type, object args, object? options = null)
    {
        var response = await Client.PostAsJsonAsync("/jobs/api/jobs", new { type, args, options });
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        return (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetString()!;
    }

    public async Task<JsonElement> GetJobAsync(string id) => await Client.GetFromJsonAsync<JsonElement>($"/jobs/api/jobs/{id}");

    public async Task<JsonElement> WaitUntilFinishedAsync(string id)
    {
        var jobs = Services.GetRequiredService<IJobManager>();
        await jobs.WaitForCompletionAsync(JobId.Parse(id)).WaitAsync(Guard);
        return await GetJobAsync(id);
    }

    public async ValueTask DisposeAsync()
    {
        Client.Dispose();
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
