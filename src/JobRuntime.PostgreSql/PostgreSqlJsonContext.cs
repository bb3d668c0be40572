using System.Text.Json.Serialization;

namespace JobRuntime.PostgreSql;

[JsonSerializable(typeof(List<PostgreSqlJobStore.StoredArtifact>))]
internal sealed partial class PostgreSqlJsonContext : JsonSerializerContext;
