using System.Collections.Concurrent;

namespace JobRuntime.Tests.TestSupport;

public sealed record EchoArgs(int Value, int Steps = 0);

public sealed record EchoResult(int Doubled, int Attempt);

/// <summary>Reports <c>Steps</c> progress updates, then returns twice the value.</summary>
public sealed class EchoHandler : IJobHandler<EchoArgs, EchoResult>
{
    public ValueTask<EchoResult> ExecuteAsync(EchoArgs args, JobContext context)
    {
        for (var i = 1; i <= args.Steps; i++)
        {
            context.ReportProgress(i, args.Steps, $"step {i}");
        }

        return ValueTask.FromResult(new EchoResult(args.Value * 2, context.Attempt));
    }
}

public sealed record GateArgs(string Key, bool IgnoreCancellation = false);

/// <summary>Signals when it starts and then waits for the test to open its gate (or for cancellation).</summary>
public sealed class GateHandler(Gates gates) : IJobHandler<GateArgs, string>
{
    public async ValueTask<string> ExecuteAsync(GateArgs args, JobContext context)
    {
        var gate = gates.For(args.Key);
        gate.Started.TrySetResult(context.JobId);
        context.ReportProgress(1, 2, "waiting at the gate");
        if (args.IgnoreCancellation)
        {
            await gate.Open.Task.ConfigureAwait(false);
        }
        else
        {
            await gate.Open.Task.WaitAsync(context.CancellationToken).ConfigureAwait(false);
        }

        return args.Key;
    }
}

public sealed record FailArgs(string Key, int FailTimes);

/// <summary>Throws on its first <c>FailTimes</c> attempts, then succeeds.</summary>
public sealed class FlakyHandler(Gates gates) : IJobHandler<FailArgs, int>
{
    public ValueTask<int> ExecuteAsync(FailArgs args, JobContext context)
    {
        var attempts = gates.CountAttempt(args.Key);
        if (attempts <= args.FailTimes)
        {
            throw new InvalidOperationException($"boom {attempts}");
        }

        return ValueTask.FromResult(attempts);
    }
}

public sealed record ProbeArgs(int Index);

/// <summary>Tracks how many probes run at once.</summary>
public sealed class ProbeHandler(ConcurrencyProbe probe) : IJobHandler<ProbeArgs, int>
{
    public async ValueTask<int> ExecuteAsync(ProbeArgs args, JobContext context)
    {
        probe.Enter();
        try
        {
            await Task.Yield();
            Thread.SpinWait(200);
            return args.Index;
        }
        finally
        {
            probe.Exit();
        }
    }
}

public sealed record SumArgs(int Add);

/// <summary>Adds its argument to the results of all its parents.</summary>
public sealed class SumHandler : IJobHandler<SumArgs, int>
{
    public ValueTask<int> ExecuteAsync(SumArgs args, JobContext context)
        => ValueTask.FromResult(args.Add + context.Parents.Sum(p => context.GetParentResult<int>(p.Id)));
}

public sealed record ThreadArgs(int Unused);

/// <summary>Returns whether it ran on a thread-pool thread, and the thread's name.</summary>
public sealed class ThreadHandler : IJobHandler<ThreadArgs, string>
{
    public ValueTask<string> ExecuteAsync(ThreadArgs args, JobContext context)
        => ValueTask.FromResult($"{Thread.CurrentThread.IsThreadPoolThread}|{Thread.CurrentThread.Name}");
}

public sealed class ConcurrencyProbe
{
    private int _current;
    private int _max;
    private int _total;

    public int Max => Volatile.Read(ref _max);

    public int Total => Volatile.Read(ref _total);

    public void Enter()
    {
        var now = Interlocked.Increment(ref _current);
        Interlocked.Increment(ref _total);
        int seen;
        while (now > (seen = Volatile.Read(ref _max)) && Interlocked.CompareExchange(ref _max, now, seen) != seen)
        {
        }
    }

    public void Exit() => Interlocked.Decrement(ref _current);
}

public sealed class Gates
{
    private readonly ConcurrentDictionary<string, Gate> _gates = new();
    private readonly ConcurrentDictionary<string, int> _attempts = new();

    public Gate For(string key) => _gates.GetOrAdd(key, _ => new Gate());

    public int CountAttempt(string key) => _attempts.AddOrUpdate(key, 1, (_, n) => n + 1);

    public int Attempts(string key) => _attempts.TryGetValue(key, out var n) ? n : 0;
}

public sealed class Gate
{
    public TaskCompletionSource<JobId> Started { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public TaskCompletionSource Open { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
}

public sealed record CallbackArgs(string Key);

/// <summary>Signals its start, then records the thread its cancellation callback runs on.</summary>
public sealed class CallbackThreadHandler(Gates gates) : IJobHandler<CallbackArgs, int>
{
    public async ValueTask<int> ExecuteAsync(CallbackArgs args, JobContext context)
    {
        var gate = gates.For(args.Key);
        var callbackThread = new TaskCompletionSource<int>(TaskCreationOptions.RunContinuationsAsynchronously);
        using var registration = context.CancellationToken.Register(() => callbackThread.TrySetResult(Environment.CurrentManagedThreadId));
        gate.Started.TrySetResult(context.JobId);
        int thread = await callbackThread.Task.ConfigureAwait(false);
        gate.Open.TrySetResult();
        return thread;
    }
}
