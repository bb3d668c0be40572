using Microsoft.AspNetCore.Http;

namespace JobRuntime.AspNetCore;

/// <summary>The jobs dashboard: three files embedded in this assembly, served with a strict Content-Security-Policy.</summary>
internal static class Dashboard
{
    private static readonly Dictionary<string, (byte[] Content, string ContentType)> Files = Load();

    /// <summary>Only this page's own scripts, styles and API: no inline code, no other origin, no framing.</summary>
    private const string ContentSecurityPolicy =
        "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

    public static IResult Serve(HttpContext http, string? file)
    {
        var name = string.IsNullOrEmpty(file) ? "index.html" : file;
        if (!Files.TryGetValue(name, out var entry))
        {
            return Guards.Problem(StatusCodes.Status404NotFound, "Not found", $"The dashboard has no file '{name}'.");
        }

        var headers = http.Response.Headers;
        headers.ContentSecurityPolicy = ContentSecurityPolicy;
        headers.XContentTypeOptions = "nosniff";
        headers.XFrameOptions = "DENY";
        headers["Referrer-Policy"] = "no-referrer";
        headers.CacheControl = "no-cache";
        return Results.Bytes(entry.Content, entry.ContentType);
    }

    private static Dictionary<string, (byte[], string)> Load()
    {
        var assembly = typeof(Dashboard).Assembly;
        var files = new Dictionary<string, (byte[], string)>(StringComparer.Ordinal);
        foreach (var resource in assembly.GetManifestResourceNames().Where(n => n.StartsWith("JobRuntime.Dashboard.", StringComparison.Ordinal)))
        {
            using var stream = assembly.GetManifestResourceStream(resource)!;
            using var copy = new MemoryStream();
            stream.CopyTo(copy);
            var name = resource["JobRuntime.Dashboard.".Length..];
            var type = Path.GetExtension(name) switch
            {
                ".html" => "text/html; charset=utf-8",
                ".js" => "text/javascript; charset=utf-8",
                ".css" => "text/css; charset=utf-8",
                _ => "application/octet-stream",
            };
            files[name] = (copy.ToArray(), type);
        }

        return files;
    }
}
