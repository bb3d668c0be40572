
namespace JobRuntime.Samples.QuickStart;

/// <summary>The arguments of a job that waits for a device that never answers.</summary>
/// <param name="Device">The device's name.</param>
public sealed record DeviceArgs(string Device);

/// <summary>A job that hangs two calls deep on a reply that never comes, ignoring its token: what timeouts and thread dumps are for.</summary>
public sealed class HangingDeviceHandler : IJobHandler<DeviceArgs, string>
{
    /// <inheritdoc />
    public async ValueTask<string> ExecuteAsync(DeviceArgs args, JobContext context)
    {
        ArgumentNullException.ThrowIfNull(args);
        ArgumentNullException.ThrowIfNull(context);
        context.ReportProgress(1, 3, $"connecting to {args.Device}");
        return await ReadCalibrationAsync(args.Device).ConfigureAwait(false);
    }

    private static async Task<string> ReadCalibrationAsync(string device)
    {
        var reply = await WaitForReplyAsync(device).ConfigureAwait(false);
        return $"{device}: {reply}";
    }

    private static Task<string> WaitForReplyAsync(string device)
    {
        // The reply never arrives, and this code does not listen to cancellation.
        var reply = new TaskCompletionSource<string>();
        return reply.Task;
    }
}
