using System.Globalization;
using System.Text.Json;
using JobRuntime;
using JobRuntime.Samples.Fitting.Rheology;
using JobRuntime.Samples.Rheology;
using Microsoft.Extensions.DependencyInjection;
using Spectre.Console;

CultureInfo.DefaultThreadCurrentCulture = CultureInfo.InvariantCulture;
CultureInfo.CurrentCulture = CultureInfo.InvariantCulture;
if (Console.IsOutputRedirected)
{
    AnsiConsole.Profile.Width = 160;    // logs and pipes: don't wrap tables at 80 columns
}

// Parse and validate everything before printing anything: bad input gets one message and exit 2.
CommandLine command;
RelaxationData? data = null;
RelaxationModel model;
try
{
    command = CommandLine.Parse(args);
    model = RelaxationModel.WithModes(command.Modes);
    if (command.Command == "run" && !command.Hang)
    {
        data = command.DataPath is { } path
            ? RelaxationData.LoadCsv(path)
            : RelaxationData.Reference(model, command.Points, command.Noise, command.Seed);
        data.RequireEnoughFor(model);
    }
}
catch (FormatException e)
{
    Console.Error.WriteLine($"rheology: {e.Message}");
    Console.Error.WriteLine(CommandLine.Usage);
    return 2;
}
catch (RelaxationDataException e)
{
    Console.Error.WriteLine($"rheology: {e.Message}");
    return 2;
}

var services = new ServiceCollection();
services.AddJobRuntime(options =>
    {
        // --hang: one slot, so the job queued behind the hung one runs only once its slot is released.
        options.MaxConcurrency = command.Hang ? 1 : 2;
        options.CancellationGracePeriod = TimeSpan.FromSeconds(2);
    })
    .UseSqlite($"Data Source={command.Database}")
    .AddThreadDumpDiagnostics()
    .AddRheologyHandlers()
    .AddHandler<StuckInstrumentHandler>("read-instrument");
await using var provider = services.BuildServiceProvider();
var jobs = provider.GetRequiredService<IJobManager>();

if (command.Command == "history")
{
    return await Commands.HistoryAsync(jobs, command.Database);
}

if (command.Hang)
{
    return await Commands.HangAsync(jobs, model);
}

return await Commands.RunAsync(jobs, command, model, data!);

/// <summary>The console commands.</summary>
internal static class Commands
{
    public static async Task<int> RunAsync(IJobManager jobs, CommandLine command, RelaxationModel model, RelaxationData data)
    {
        using var interrupt = new CancellationTokenSource();
        Console.CancelKeyPress += (_, e) =>
        {
            e.Cancel = true;
            interrupt.Cancel();
        };

        AnsiConsole.MarkupLine($"[bold]{Markup.Escape(model.Name)}[/] model, {data.Count} points from {Markup.Escape(data.Source)}");
        AnsiConsole.MarkupLine($"job store: {Markup.Escape(command.Database)}");

        var fitId = await jobs.SubmitAsync(
            RheologyJobRuntimeBuilderExtensions.FitJobType,
            new RheologyFitArgs(model.Modes, data.Time, data.Modulus, data.Source),
            new JobSubmitOptions { Title = $"NLSQ fit, {model.Name}" });
        var nutsId = await jobs.SubmitAsync(
            RheologyJobRuntimeBuilderExtensions.NutsJobType,
            new RheologyNutsArgs(model.Modes, data.Time, data.Modulus, command.Chains, command.Warmup, command.Draws, command.Seed, Source: data.Source),
            new JobSubmitOptions { Title = $"NUTS, {model.Name}", DependsOn = [fitId] });

        AnsiConsole.MarkupLine($"submitted fit job {fitId} and NUTS job {nutsId} (Ctrl+C cancels)");
        try
        {
            await WatchAsync(jobs, fitId, nutsId, command.Chains, interrupt.Token);
        }
        catch (OperationCanceledException) when (interrupt.IsCancellationRequested)
        {
            // Ctrl+C: cancel both jobs and say how they ended.
            await jobs.CancelAsync(nutsId);
            await jobs.CancelAsync(fitId);
            var fitEnd = await jobs.WaitForCompletionAsync(fitId);
            var nutsEnd = await jobs.WaitForCompletionAsync(nutsId);
            AnsiConsole.MarkupLine($"[yellow]Cancelled.[/] fit job {fitId} ended {fitEnd.Status}; NUTS job {nutsId} ended {nutsEnd.Status}.");
            return 130;
        }

        var fitJob = await jobs.WaitForCompletionAsync(fitId);
        var nutsJob = await jobs.WaitForCompletionAsync(nutsId);
        if (fitJob.Status != JobStatus.Completed)
        {
            AnsiConsole.MarkupLine($"[red]The fit job ended {fitJob.Status}:[/] {Markup.Escape(fitJob.Error?.Message ?? string.Empty)}");
            return 1;
        }

        var fit = await jobs.WaitForResultAsync<RheologyFitResult>(fitId);
        Tables.Fit(fit, fitJob);
        if (nutsJob.Status != JobStatus.Completed)
        {
            AnsiConsole.MarkupLine($"[red]The NUTS job ended {nutsJob.Status}:[/] {Markup.Escape(nutsJob.Error?.Message ?? string.Empty)}");
            return 1;
        }

        var posterior = await jobs.WaitForResultAsync<RheologyPosteriorResult>(nutsId);
        Tables.Posterior(posterior);
        Tables.Agreement(fit, posterior);
        return 0;
    }

    public static async Task<int> HistoryAsync(IJobManager jobs, string database)
    {
        var table = new Table().Title($"jobs in {Markup.Escape(database)}")
            .AddColumn("id").AddColumn("type").AddColumn("status").AddColumn("created (UTC)").AddColumn(new TableColumn("duration").RightAligned()).AddColumn("outcome");
        JobId? cursor = null;
        int shown = 0;
        do
        {
            var page = await jobs.ListAsync(new JobQuery { After = cursor, PageSize = 100 });
            foreach (var job in page.Items)
            {
                table.AddRow(
                    job.Id.ToString(),
                    Markup.Escape(job.Type),
                    Status(job.Status),
                    job.CreatedAt.UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture),
                    job.StartedAt is { } s && job.CompletedAt is { } c ? $"{(c - s).TotalSeconds:F2} s" : "-",
                    Markup.Escape(Outcome(job)));
                shown++;
            }

            cursor = page.NextCursor;
        }
        while (cursor is not null && shown < 1000);

        if (shown == 0)
        {
            AnsiConsole.WriteLine($"no jobs in {database} yet; run the sample first");
            return 0;
        }

        AnsiConsole.Write(table);
        return 0;
    }

    public static async Task<int> HangAsync(IJobManager jobs, RelaxationModel model)
    {
        AnsiConsole.MarkupLine("Submitting a fit that waits for an instrument that never answers (timeout 2 s), and a normal fit queued behind it (1 slot)...");
        var id = await jobs.SubmitAsync("read-instrument", new InstrumentArgs("rheometer"), new JobSubmitOptions { Timeout = TimeSpan.FromSeconds(2) });
        var data = RelaxationData.Reference(model, 40, 0.01, 7);
        var nextId = await jobs.SubmitAsync(
            RheologyJobRuntimeBuilderExtensions.FitJobType,
            new RheologyFitArgs(model.Modes, data.Time, data.Modulus, data.Source),
            new JobSubmitOptions { Title = "the next job" });
        var job = await jobs.WaitForCompletionAsync(id);
        AnsiConsole.MarkupLine($"job {id} ended [bold]{job.Status}[/]: {Markup.Escape(job.Error?.Message ?? string.Empty)}");
        var dump = await jobs.GetThreadDumpAsync(id);
        if (dump is null)
        {
            AnsiConsole.MarkupLine("[red]no thread dump was stored[/]");
            return 1;
        }

        AnsiConsole.WriteLine(dump.ToText());
        var next = await jobs.WaitForCompletionAsync(nextId);
        AnsiConsole.MarkupLine($"next job {nextId} (rheology-fit) ended [bold]{next.Status}[/] after the hung job's slot was released");
        return job.Status == JobStatus.TimedOut && next.Status == JobStatus.Completed ? 0 : 1;
    }

    private static async Task WatchAsync(IJobManager jobs, JobId fitId, JobId nutsId, int chains, CancellationToken cancellationToken)
    {
        await AnsiConsole.Progress()
            .AutoClear(false)
            .Columns(new TaskDescriptionColumn { Alignment = Justify.Left }, new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn())
            .StartAsync(async context =>
            {
                var fitTask = context.AddTask("NLSQ fit", maxValue: 1);
                var chainTasks = Enumerable.Range(0, chains).Select(c => context.AddTask($"chain {c + 1}  waiting", autoStart: false)).ToArray();
                var divergences = 0;
                await foreach (var e in jobs.WatchAsync(fitId, cancellationToken))
                {
                    if (e.Kind == JobEventKind.Custom && e.Data is JobRuntime.Samples.Fitting.Nlsq.FitIteration i)
                    {
                        fitTask.Description = $"NLSQ fit  iteration {i.Iteration,3}  cost {i.Rss:G6}";
                    }

                    if (e.IsTerminal)
                    {
                        fitTask.Value = fitTask.MaxValue;
                        fitTask.Description = $"NLSQ fit  {e.Status}";
                        fitTask.StopTask();
                    }
                }

                await foreach (var e in jobs.WatchAsync(nutsId, cancellationToken))
                {
                    if (e.Kind == JobEventKind.Custom && e.Data is DivergenceEvent d)
                    {
                        divergences = d.TotalDivergences;
                    }

                    if (e.Kind == JobEventKind.Custom && e.Data is ChainProgressEvent p)
                    {
                        var task = chainTasks[p.Chain];
                        task.StartTask();
                        task.MaxValue = p.Total;
                        task.Value = p.Iteration;
                        task.Description = $"chain {p.Chain + 1}  {p.Stage,-8}  divergences {p.Divergences}";
                    }

                    if (e.IsTerminal)
                    {
                        foreach (var task in chainTasks)
                        {
                            task.StopTask();
                        }
                    }
                }

                if (divergences > 0)
                {
                    AnsiConsole.MarkupLine($"[yellow]{divergences} divergent transitions after warm-up[/]");
                }
            });
    }

    private static string Status(JobStatus status) => status switch
    {
        JobStatus.Completed => "[green]Completed[/]",
        JobStatus.Failed or JobStatus.TimedOut => $"[red]{status}[/]",
        JobStatus.Cancelled => "[yellow]Cancelled[/]",
        _ => status.ToString(),
    };

    private static string Outcome(JobSnapshot job)
    {
        if (job.Status != JobStatus.Completed || job.Result is null)
        {
            return job.Error?.Message ?? job.Status.ToString();
        }

        try
        {
            using var result = JsonDocument.Parse(job.Result);
            var root = result.RootElement;
            if (job.Type == RheologyJobRuntimeBuilderExtensions.FitJobType && root.TryGetProperty("rSquared", out var r2))
            {
                return $"R² {r2.GetDouble():F5}, {root.GetProperty("iterations").GetInt32()} iterations";
            }

            if (job.Type == RheologyJobRuntimeBuilderExtensions.NutsJobType && root.TryGetProperty("maxRHat", out var rhat))
            {
                return $"max R-hat {rhat.GetDouble():F3}, {root.GetProperty("divergences").GetInt32()} divergences";
            }
        }
        catch (JsonException)
        {
            // Fall through to the raw text.
        }

        return job.Result.Length > 60 ? job.Result[..60] + "…" : job.Result;
    }
}

/// <summary>The result tables.</summary>
internal static class Tables
{
    public static void Fit(RheologyFitResult fit, JobSnapshot job)
    {
        var table = new Table().Title($"NLSQ fit (Levenberg–Marquardt), job {job.Id}")
            .AddColumn("parameter").AddColumn(new TableColumn("estimate").RightAligned()).AddColumn(new TableColumn("± SE").RightAligned()).AddColumn(new TableColumn("relative SE").RightAligned());
        for (int j = 0; j < fit.Values.Count; j++)
        {
            table.AddRow(fit.ParameterNames[j], $"{fit.Values[j]:G6}", $"{fit.StandardErrors[j]:G3}", $"{fit.StandardErrors[j] / fit.Values[j]:P2}");
        }

        AnsiConsole.Write(table);
        AnsiConsole.WriteLine($"R² {fit.RSquared:F6}   MPE {fit.MeanPercentageError:F2} %   χ² (log residuals) {fit.ChiSquared:G4}   residual sd {fit.ResidualSd:G3}   {fit.Iterations} iterations   {fit.FitTime.TotalMilliseconds:F1} ms");
        AnsiConsole.MarkupLine(fit.Converged ? $"[green]{Markup.Escape(fit.Message)}[/]" : $"[red]{Markup.Escape(fit.Message)}[/]");
    }

    public static void Posterior(RheologyPosteriorResult posterior)
    {
        var table = new Table().Title($"posterior (NUTS, {posterior.Chains.Count} chains × {posterior.DrawsPerChain} draws after {posterior.Warmup} warm-up{(posterior.WarmStarted ? ", warm-started from the fit" : string.Empty)})")
            .AddColumn("parameter").AddColumn(new TableColumn("mean").RightAligned()).AddColumn(new TableColumn("sd").RightAligned())
            .AddColumn(new TableColumn("95% HDI").RightAligned()).AddColumn(new TableColumn("R-hat").RightAligned())
            .AddColumn(new TableColumn("ESS bulk").RightAligned()).AddColumn(new TableColumn("ESS tail").RightAligned());
        foreach (var s in posterior.Summary)
        {
            table.AddRow(s.Name, $"{s.Mean:G6}", $"{s.StandardDeviation:G3}", Markup.Escape($"[{s.HdiLower:G4}, {s.HdiUpper:G4}]"), $"{s.RHat:F3}", $"{s.EssBulk:F0}", $"{s.EssTail:F0}");
        }

        AnsiConsole.Write(table);
        AnsiConsole.WriteLine($"divergences {posterior.Divergences}   step sizes {string.Join(", ", posterior.Chains.Select(c => c.StepSize.ToString("G3", CultureInfo.InvariantCulture)))}   {posterior.SamplingTime.TotalSeconds:F2} s");
        bool healthy = posterior.MaxRHat < 1.01 && posterior.MinEssBulk > 400 && posterior.Divergences == 0;
        AnsiConsole.MarkupLine(healthy
            ? "[green]diagnostics OK[/]: R-hat < 1.01, bulk ESS > 400, no divergences"
            : $"[yellow]check diagnostics[/]: max R-hat {posterior.MaxRHat:F3}, min bulk ESS {posterior.MinEssBulk:F0}, {posterior.Divergences} divergences");
    }

    public static void Agreement(RheologyFitResult fit, RheologyPosteriorResult posterior)
    {
        var table = new Table().Title("fit vs posterior")
            .AddColumn("parameter").AddColumn(new TableColumn("fit").RightAligned()).AddColumn(new TableColumn("posterior mean").RightAligned())
            .AddColumn(new TableColumn("difference / posterior sd").RightAligned()).AddColumn("fit inside 95% HDI");
        for (int j = 0; j < fit.Values.Count; j++)
        {
            var s = posterior.Summary.First(p => p.Name == fit.ParameterNames[j]);
            bool inside = fit.Values[j] >= s.HdiLower && fit.Values[j] <= s.HdiUpper;
            table.AddRow(fit.ParameterNames[j], $"{fit.Values[j]:G6}", $"{s.Mean:G6}", Signed((s.Mean - fit.Values[j]) / s.StandardDeviation), inside ? "[green]yes[/]" : "[red]no[/]");
        }

        AnsiConsole.Write(table);
    }

    private static string Signed(double value)
    {
        string text = Math.Abs(value).ToString("F2", CultureInfo.InvariantCulture);
        return text == "0.00" ? text : (value < 0 ? "-" : "+") + text;
    }
}
