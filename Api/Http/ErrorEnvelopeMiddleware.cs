using System.Diagnostics;
using GovSg.Api.Database;
using GovSg.Hosting;

namespace GovSg.Api.Http;

/// <summary>
/// The one place exceptions and bare framework status codes become the error envelope (SPEC §3.1): no stack traces,
/// no HTML, no problem documents, no empty 4xx bodies ever reach a client.
/// </summary>
public sealed class ErrorEnvelopeMiddleware(RequestDelegate next, ILogger<ErrorEnvelopeMiddleware> logger)
{
    /// <summary>During a database outage every request fails alike: one line per this interval, with a count of the rest.</summary>
    private static readonly TimeSpan OutageLogInterval = TimeSpan.FromSeconds(10);

    private long _nextOutageLine;
    private int _outageFailuresUnlogged;

    public async Task InvokeAsync(HttpContext context)
    {
        try
        {
            await next(context);
        }
        catch (Exception exception) when (!context.Response.HasStarted)
        {
            await ToError(context, exception).ExecuteAsync(context);
            return;
        }

        if (!context.Response.HasStarted && context.Response.StatusCode >= 400)
        {
            await ApiError.ForStatus(context.Response.StatusCode).ExecuteAsync(context);
        }
    }

    private ApiError ToError(HttpContext context, Exception exception)
    {
        switch (exception)
        {
            case BadHttpRequestException badRequest:
                return badRequest.StatusCode == StatusCodes.Status400BadRequest
                    ? ApiError.Malformed()
                    : ApiError.ForStatus(badRequest.StatusCode);
            case OperationCanceledException when context.RequestAborted.IsCancellationRequested:
                // The client went away; nobody reads this answer.
                return ApiError.ForStatus(StatusCodes.Status400BadRequest);
            case OutcomeUnknownException:
                LogOutage(context, exception);
                return ApiError.OutcomeUnknown();
            case var _ when PostgresRefusals.IsUnavailable(exception):
                LogOutage(context, exception);
                return ApiError.ServiceUnavailable();
            default:
                var traceId = Activity.Current?.TraceId.ToString() ?? context.TraceIdentifier;
                logger.LogError(exception, "Unhandled error for {Method} {Route} (trace {TraceId})",
                    context.Request.Method, Route(context), traceId);
                return ApiError.Internal(traceId);
        }
    }

    /// <summary>Without the stack trace, and at most one line per <see cref="OutageLogInterval"/>.</summary>
    private void LogOutage(HttpContext context, Exception exception)
    {
        var now = Environment.TickCount64;
        var next = Volatile.Read(ref _nextOutageLine);
        if (now < next
            || Interlocked.CompareExchange(ref _nextOutageLine, now + (long)OutageLogInterval.TotalMilliseconds, next) != next)
        {
            Interlocked.Increment(ref _outageFailuresUnlogged);
            return;
        }

        logger.LogWarning("Database unavailable while handling {Method} {Route}: {Error} ({Unlogged} more request(s) failed so since the last line)",
            context.Request.Method, Route(context), exception.Message, Interlocked.Exchange(ref _outageFailuresUnlogged, 0));
    }

    /// <summary>
    /// The route a request matched, never its path: a path holds whatever a caller puts there (a recipient where a
    /// message id belongs), and logs never hold a phone number (SPEC §9.1).
    /// </summary>
    private static string Route(HttpContext context) =>
        context.GetEndpoint() is RouteEndpoint { RoutePattern.RawText: { } route } ? route : "(no route)";
}
