using System.Text.Json.Serialization;

namespace JobRuntime.PostgreSql;

[JsonSerializable(typeof(List<PostgreSqlJobStore.StoredArtifact>))]
[JsonSerializable(typeof(IReadOnlyList<string>))]
internal sealed partial class PostgreSqlJsonContext : JsonSerializerContext;
