using System.Text.Json.Serialization;

namespace JobRuntime.Sqlite;

/// <summary>Serialization of the JSON columns (tags, parents, artifacts); source-generated, no reflection.</summary>
[JsonSerializable(typeof(IReadOnlyList<string>))]
[JsonSerializable(typeof(IReadOnlyList<JobId>))]
[JsonSerializable(typeof(List<SqliteJobStore.StoredArtifact>))]
internal sealed partial class SqliteJsonContext : JsonSerializerContext
{
}
