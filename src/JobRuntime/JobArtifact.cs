namespace JobRuntime;

/// <summary>
/// A named output attached to a job's result: a file written by the job (an export, a plot) or a
/// small blob kept with the job (a thread dump, a summary).
/// </summary>
public sealed record JobArtifact
{
    /// <summary>Describes an artifact.</summary>
    /// <param name="name">A name unique within the job.</param>
    /// <param name="contentType">A MIME type, such as "text/plain" or "image/png".</param>
    /// <param name="filePath">The path of a file holding the content, or <see langword="null"/>.</param>
    /// <param name="data">The content itself, or <see langword="null"/> when <paramref name="filePath"/> is given.</param>
    /// <exception cref="ArgumentException">The name is empty, or neither or both of a path and data are given.</exception>
    public JobArtifact(string name, string contentType, string? filePath, byte[]? data)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        ArgumentException.ThrowIfNullOrWhiteSpace(contentType);
        if ((filePath is null) == (data is null))
        {
            throw new ArgumentException("An artifact holds either a file path or data, exactly one of them.", nameof(filePath));
        }

        Name = name;
        ContentType = contentType;
        FilePath = filePath;
        Data = data;
    }

    /// <summary>The artifact's name, unique within its job.</summary>
    public string Name { get; }

    /// <summary>The MIME type of the content.</summary>
    public string ContentType { get; }

    /// <summary>The path of the file holding the content, when the artifact is a file.</summary>
    public string? FilePath { get; }

    /// <summary>The content, when the artifact is kept with the job.</summary>
    public byte[]? Data { get; }

    /// <summary>Creates an artifact that points at a file.</summary>
    /// <param name="name">The artifact's name.</param>
    /// <param name="filePath">The file's path.</param>
    /// <param name="contentType">The MIME type.</param>
    /// <returns>The artifact.</returns>
    public static JobArtifact File(string name, string filePath, string contentType = "application/octet-stream")
        => new(name, contentType, filePath, null);

    /// <summary>Creates an artifact that carries its content.</summary>
    /// <param name="name">The artifact's name.</param>
    /// <param name="data">The content.</param>
    /// <param name="contentType">The MIME type.</param>
    /// <returns>The artifact.</returns>
    public static JobArtifact Blob(string name, byte[] data, string contentType = "application/octet-stream")
    {
        ArgumentNullException.ThrowIfNull(data);
        return new(name, contentType, null, data);
    }

    /// <summary>Creates a UTF-8 text artifact.</summary>
    /// <param name="name">The artifact's name.</param>
    /// <param name="text">The text.</param>
    /// <returns>The artifact.</returns>
    public static JobArtifact Text(string name, string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        return new(name, "text/plain; charset=utf-8", null, System.Text.Encoding.UTF8.GetBytes(text));
    }
}
