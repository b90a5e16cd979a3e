using System.Diagnostics;
using System.Net.Sockets;
using Npgsql;

namespace GovSg.Api.Http;

/// <summary>
/// The one place exceptions and bare framework status codes become the error envelope (SPEC §3.1): no stack traces,
/// no HTML, no problem documents, no empty 4xx bodies ever reach a client.
/// </summary>
public sealed class ErrorEnvelopeMiddleware(RequestDelegate next, ILogger<ErrorEnvelopeMiddleware> logger)
{
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
            case var _ when IsDatabaseUnavailable(exception):
                // One line a request, without the stack trace: during an outage every request takes this path.
                logger.LogWarning("Database unavailable while handling {Method} {Path}: {Error}",
                    context.Request.Method, context.Request.Path, exception.Message);
                return ApiError.ServiceUnavailable();
            default:
                var traceId = Activity.Current?.TraceId.ToString() ?? context.TraceIdentifier;
                logger.LogError(exception, "Unhandled error for {Method} {Path} (trace {TraceId})",
                    context.Request.Method, context.Request.Path, traceId);
                return ApiError.Internal(traceId);
        }
    }

    private static bool IsDatabaseUnavailable(Exception exception) => exception switch
    {
        NpgsqlException { IsTransient: true } => true,
        NpgsqlException { InnerException: SocketException or TimeoutException or IOException } => true,
        // 57014: cancelled by statement_timeout; the database could not answer in the time a request may take.
        PostgresException { SqlState: "57P01" or "57P02" or "57P03" or "53300" or "57014" } => true,
        TimeoutException => true,
        _ => false,
    };
}
