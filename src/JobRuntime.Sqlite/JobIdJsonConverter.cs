using System.Text.Json;
using System.Text.Json.Serialization;

namespace JobRuntime.Sqlite;

/// <summary>Writes a job id as its 32-hex-digit string.</summary>
internal sealed class JobIdJsonConverter : JsonConverter<JobId>
{
    public override JobId Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
        => JobId.Parse(reader.GetString() ?? throw new JsonException("A job id must be a string."));

    public override void Write(Utf8JsonWriter writer, JobId value, JsonSerializerOptions options)
        => writer.WriteStringValue(value.ToString());
}
