namespace JobRuntime.Storage;

/// <summary>
/// Implemented by stores that keep recurring schedules beside their jobs. A schedule's definition is
/// opaque to the store (the runtime's JSON); the store keeps its state — paused, next and last fire
/// time, last job — and, in <see cref="FireAsync"/>, records an occurrence and inserts its jobs in
/// one atomic step guarded by the schedule's version: however many nodes fire the same occurrence,
/// one succeeds, so each occurrence makes its jobs exactly once.
/// </summary>
public interface IJobStoreSchedules
{
    /// <summary>
    /// Creates a schedule, or replaces an existing one's definition keeping its last-run state.
    /// </summary>
    /// <param name="name">The schedule's unique name.</param>
    /// <param name="definition">The runtime's definition (JSON); stored as given.</param>
    /// <param name="nextFireAt">The next occurrence by the (new) definition; <see langword="null"/> when it has none.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The stored schedule; its version moves on.</returns>
    ValueTask<JobSchedule> SaveScheduleAsync(string name, string definition, DateTimeOffset? nextFireAt, CancellationToken cancellationToken = default);

    /// <summary>Reads a schedule.</summary>
    /// <param name="name">Its name.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The schedule, or <see langword="null"/>.</returns>
    ValueTask<JobSchedule?> GetScheduleAsync(string name, CancellationToken cancellationToken = default);

    /// <summary>Lists every schedule, by name.</summary>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The schedules.</returns>
    ValueTask<IReadOnlyList<JobSchedule>> ListSchedulesAsync(CancellationToken cancellationToken = default);

    /// <summary>Deletes a schedule (its jobs stay).</summary>
    /// <param name="name">Its name.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns><see langword="true"/> when it existed.</returns>
    ValueTask<bool> DeleteScheduleAsync(string name, CancellationToken cancellationToken = default);

    /// <summary>Pauses or resumes a schedule.</summary>
    /// <param name="name">Its name.</param>
    /// <param name="paused">Whether it is paused from now on.</param>
    /// <param name="nextFireAt">On resume, the next occurrence from now (missed ones are not made up); ignored when pausing.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The schedule as stored, or <see langword="null"/> when there is none of that name.</returns>
    ValueTask<JobSchedule?> SetSchedulePausedAsync(string name, bool paused, DateTimeOffset? nextFireAt, CancellationToken cancellationToken = default);

    /// <summary>The schedules that are not paused and whose next occurrence is at or before <paramref name="now"/>.</summary>
    /// <param name="now">The time to compare with.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The due schedules, and the earliest next occurrence of the others (when to look again).</returns>
    ValueTask<DueSchedules> GetDueSchedulesAsync(DateTimeOffset now, CancellationToken cancellationToken = default);

    /// <summary>
    /// Records an occurrence: when the schedule's version is still <see cref="ScheduleFire.ExpectedVersion"/>,
    /// inserts the occurrence's jobs (as <see cref="IJobStore.InsertAsync"/> would), sets its next and
    /// last fire times and last job, and moves its version on — all or nothing. Otherwise changes
    /// nothing: another node recorded it first, or the schedule changed meanwhile.
    /// </summary>
    /// <param name="fire">What to record.</param>
    /// <param name="cancellationToken">Cancels the call while it is not yet being written.</param>
    /// <returns>Whether it was recorded, with the jobs as stored.</returns>
    ValueTask<ScheduleFireResult> FireAsync(ScheduleFire fire, CancellationToken cancellationToken = default);
}

/// <summary>A schedule as the store keeps it.</summary>
/// <param name="Name">Its unique name.</param>
/// <param name="Definition">The runtime's definition (JSON).</param>
/// <param name="Paused">Whether it is paused.</param>
/// <param name="NextFireAt">Its next occurrence, if any.</param>
/// <param name="LastFireAt">The occurrence it recorded last, if any.</param>
/// <param name="LastJobId">The job of that occurrence (or of a trigger), if it made one.</param>
/// <param name="Version">Moves on with every change; <see cref="IJobStoreSchedules.FireAsync"/> is guarded by it.</param>
public sealed record JobSchedule(string Name, string Definition, bool Paused, DateTimeOffset? NextFireAt, DateTimeOffset? LastFireAt, JobId? LastJobId, long Version);

/// <summary>The due schedules, and when the next of the others is due.</summary>
/// <param name="Due">Schedules whose next occurrence has come.</param>
/// <param name="NextDueAt">The earliest next occurrence among the schedules not due yet (and not paused), if any.</param>
public sealed record DueSchedules(IReadOnlyList<JobSchedule> Due, DateTimeOffset? NextDueAt);

/// <summary>An occurrence to record.</summary>
/// <param name="Name">The schedule.</param>
/// <param name="ExpectedVersion">The version the occurrence was computed from.</param>
/// <param name="FireAt">The occurrence (the last one, when several missed ones are recorded at once); <see langword="null"/> for a trigger, which leaves the fire times alone.</param>
/// <param name="NextFireAt">The schedule's next occurrence afterwards.</param>
/// <param name="Jobs">The jobs the occurrence makes (none when a policy skips it), in order.</param>
public sealed record ScheduleFire(string Name, long ExpectedVersion, DateTimeOffset? FireAt, DateTimeOffset? NextFireAt, IReadOnlyList<JobSnapshot> Jobs);

/// <summary>What <see cref="IJobStoreSchedules.FireAsync"/> did.</summary>
/// <param name="Fired">Whether the occurrence was recorded (<see langword="false"/>: another node was first, or the schedule changed).</param>
/// <param name="Jobs">The jobs as stored, when it was.</param>
public sealed record ScheduleFireResult(bool Fired, IReadOnlyList<JobSnapshot> Jobs);
