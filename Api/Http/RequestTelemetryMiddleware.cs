using System.Diagnostics;

namespace GovSg.Api.Http;

/// <summary>
/// Names the request span "METHOD route" and tags it with the OpenTelemetry HTTP attributes — what the ASP.NET Core
/// instrumentation package would do, which the package feed here lacks. Never the query string or body.
/// </summary>
public sealed class RequestTelemetryMiddleware(RequestDelegate next)
{
    public async Task InvokeAsync(HttpContext context)
    {
        var activity = Activity.Current;
        try
        {
            await next(context);
        }
        finally
        {
            if (activity is not null)
            {
                var route = (context.GetEndpoint() as RouteEndpoint)?.RoutePattern.RawText;
                activity.DisplayName = route is null ? context.Request.Method : $"{context.Request.Method} {route}";
                activity.SetTag("http.request.method", context.Request.Method);
                activity.SetTag("http.route", route);
                activity.SetTag("url.path", context.Request.Path.Value);
                activity.SetTag("http.response.status_code", context.Response.StatusCode);
                if (context.Features.Get<Auth.Caller>() is { } caller)
                {
                    activity.SetTag("govsg.user_id", caller.UserId);
                }
            }
        }
    }
}
