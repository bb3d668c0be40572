using System.Text.Json;

namespace JobRuntime;

/// <summary>The attempt behind a <see cref="JobContext"/>: what the context shows and where the handler's reports go.</summary>
internal interface IJobRunSink
{
    /// <summary>The job as it was claimed (may be made on first read).</summary>
    JobSnapshot Job { get; }

    /// <summary>The job's submit-time fields (id, type, most attempts …), read without making <see cref="Job"/>.</summary>
    JobSnapshot Definition { get; }

    /// <summary>The attempt, from 1.</summary>
    int Attempt { get; }

    /// <summary>Trips when the attempt is stopped.</summary>
    CancellationToken CancellationToken { get; }

    /// <summary>The attempt's services (its DI scope, made on first use).</summary>
    IServiceProvider Services { get; }

    /// <summary>The runtime's serializer settings (for parents' results).</summary>
    JsonSerializerOptions SerializerOptions { get; }

    void ReportProgress(long current, long total, string? message);

    void SetStage(string stage);

    void PublishCustom(string name, object? data);

    void AddArtifact(JobArtifact artifact);
}
