namespace JobRuntime;

/// <summary>Where a <see cref="JobContext"/> sends what the handler reports.</summary>
internal interface IJobRunSink
{
    void ReportProgress(long current, long total, string? message);

    void SetStage(string stage);

    void PublishCustom(string name, object? data);

    void AddArtifact(JobArtifact artifact);
}
