using System.Text.Json;
using System.Text.Json.Serialization;

namespace JobRuntime;

/// <summary>Reads and writes a <see cref="JobId"/> as its 32-hex-digit string (applied to <see cref="JobId"/> by attribute).</summary>
public sealed class JobIdJsonConverter : JsonConverter<JobId>
{
    /// <inheritdoc />
    public override JobId Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
        => JobId.Parse(reader.GetString() ?? throw new JsonException("A job id must be a string."));

    /// <inheritdoc />
    public override void Write(Utf8JsonWriter writer, JobId value, JsonSerializerOptions options)
        => writer.WriteStringValue(value.ToString());
}
