using System.Text.Json;

namespace JobRuntime.ThreadDumps;

/// <summary>How a thread dump is kept with a job: a JSON artifact named <see cref="ArtifactName"/>.</summary>
internal static class ThreadDumpJson
{
    public const string ArtifactName = "thread-dump";

    private static readonly JsonSerializerOptions Options = new(JsonSerializerDefaults.Web) { WriteIndented = false };

    public static JobArtifact ToArtifact(ThreadDump dump)
        => JobArtifact.Blob(ArtifactName, JsonSerializer.SerializeToUtf8Bytes(dump, Options), "application/json");

    public static ThreadDump? FromJob(JobSnapshot job)
    {
        var artifact = job.Artifacts.FirstOrDefault(a => a.Name == ArtifactName && a.Data is not null);
        return artifact is null ? null : JsonSerializer.Deserialize<ThreadDump>(artifact.Data, Options);
    }
}
