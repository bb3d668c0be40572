namespace JobRuntime;

/// <summary>
/// Recurring jobs: cron schedules kept in the store, each occurrence an ordinary job (tagged
/// <c>schedule:&lt;name&gt;</c>), made exactly once per occurrence however many nodes run.
/// </summary>
public interface IRecurringJobs
{
    /// <summary>
    /// Creates a recurring job, or updates the one of that name (expression, arguments, options)
    /// keeping its last-run state. The job type is the handler registered for <typeparamref name="TArgs"/>.
    /// </summary>
    /// <typeparam name="TArgs">The handler's argument type.</typeparam>
    /// <param name="name">A unique name.</param>
    /// <param name="cron">A cron expression of 5 fields (minute hour day month weekday) or 6 (seconds first), as Cronos reads them.</param>
    /// <param name="args">The arguments of every occurrence.</param>
    /// <param name="configure">Sets the time zone, the policies and the jobs' options.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The recurring job as stored.</returns>
    /// <exception cref="ArgumentException">The name, expression, time zone or an option is invalid (the message names the schedule); nothing is stored.</exception>
    /// <exception cref="UnknownJobTypeException">No handler takes <typeparamref name="TArgs"/>.</exception>
    ValueTask<RecurringJobInfo> AddOrUpdateAsync<TArgs>(string name, string cron, TArgs args, Action<RecurringJobOptions>? configure = null, CancellationToken cancellationToken = default);

    /// <summary>As <see cref="AddOrUpdateAsync{TArgs}(string, string, TArgs, Action{RecurringJobOptions}?, CancellationToken)"/>, for a job type named explicitly.</summary>
    /// <typeparam name="TArgs">The handler's argument type.</typeparam>
    /// <param name="name">A unique name.</param>
    /// <param name="jobType">The registered job type.</param>
    /// <param name="cron">The cron expression.</param>
    /// <param name="args">The arguments of every occurrence.</param>
    /// <param name="configure">Sets the time zone, the policies and the jobs' options.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The recurring job as stored.</returns>
    ValueTask<RecurringJobInfo> AddOrUpdateAsync<TArgs>(string name, string jobType, string cron, TArgs args, Action<RecurringJobOptions>? configure = null, CancellationToken cancellationToken = default);

    /// <summary>Removes a recurring job; the jobs it made stay.</summary>
    /// <param name="name">Its name.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns><see langword="true"/> when it existed.</returns>
    ValueTask<bool> RemoveAsync(string name, CancellationToken cancellationToken = default);

    /// <summary>Pauses a recurring job: no occurrence fires until it is resumed.</summary>
    /// <param name="name">Its name.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns><see langword="true"/> when it exists.</returns>
    ValueTask<bool> PauseAsync(string name, CancellationToken cancellationToken = default);

    /// <summary>Resumes a paused recurring job from its next occurrence after now (occurrences missed while paused are not made up).</summary>
    /// <param name="name">Its name.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns><see langword="true"/> when it exists.</returns>
    ValueTask<bool> ResumeAsync(string name, CancellationToken cancellationToken = default);

    /// <summary>Runs a recurring job now, once, besides its schedule (which is left as it is; paused or not).</summary>
    /// <param name="name">Its name.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The job made.</returns>
    /// <exception cref="KeyNotFoundException">No recurring job has that name.</exception>
    ValueTask<JobId> TriggerAsync(string name, CancellationToken cancellationToken = default);

    /// <summary>Reads one recurring job.</summary>
    /// <param name="name">Its name.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>It, or <see langword="null"/>.</returns>
    ValueTask<RecurringJobInfo?> GetAsync(string name, CancellationToken cancellationToken = default);

    /// <summary>Lists every recurring job, by name, with its next and last occurrence and its last job's status.</summary>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The recurring jobs.</returns>
    ValueTask<IReadOnlyList<RecurringJobInfo>> ListAsync(CancellationToken cancellationToken = default);
}
