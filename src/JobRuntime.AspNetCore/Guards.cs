using System.Net;
using Microsoft.AspNetCore.Http;

namespace JobRuntime.AspNetCore;

/// <summary>The web API's default protections, as endpoint filters.</summary>
internal static class Guards
{
    /// <summary>Without an authorization policy only the machine itself may call: a request from anywhere else is refused.</summary>
    public static async ValueTask<object?> LocalOnly(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
    {
        var connection = context.HttpContext.Connection;
        var remote = connection.RemoteIpAddress;
        var local = remote is not null && (IPAddress.IsLoopback(remote) || remote.Equals(connection.LocalIpAddress));
        return local
            ? await next(context).ConfigureAwait(false)
            : Problem(StatusCodes.Status403Forbidden, "Only local requests are allowed", "JobRuntime's web API answers requests from this machine only, unless MapJobRuntime is given an authorization policy (o.AuthorizationPolicy).");
    }

    /// <summary>
    /// A change (POST, DELETE) must come from the page's own site: a browser sends <c>Sec-Fetch-Site</c>
    /// and <c>Origin</c>, and a cross-site form or script is refused (no CSRF).
    /// </summary>
    public static async ValueTask<object?> SameSite(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
    {
        var request = context.HttpContext.Request;
        var site = request.Headers["Sec-Fetch-Site"].ToString();
        var origin = request.Headers.Origin.ToString();
        var crossSite = site is "cross-site" or "same-site"
            || (origin.Length > 0 && !(Uri.TryCreate(origin, UriKind.Absolute, out var uri) && string.Equals(uri.Authority, request.Host.Value, StringComparison.OrdinalIgnoreCase)));
        return crossSite
            ? Problem(StatusCodes.Status403Forbidden, "Cross-site request refused", "Changes to jobs are accepted only from the same site.")
            : await next(context).ConfigureAwait(false);
    }

    /// <summary>In read-only mode every change is refused.</summary>
    public static ValueTask<object?> ReadOnly(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
        => ValueTask.FromResult<object?>(Problem(StatusCodes.Status403Forbidden, "Read-only", "This JobRuntime web API is read-only: jobs cannot be submitted, cancelled, re-run or deleted here."));

    public static IResult Problem(int status, string title, string detail) => Results.Problem(detail: detail, statusCode: status, title: title);
}
