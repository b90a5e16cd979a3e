using Microsoft.AspNetCore.Diagnostics;

namespace GovSg.WhatsAppSimulator.Extensions;

/// <summary>
/// Answers a control-API body that cannot be read (bad JSON, a misspelt field) with a problem document saying why,
/// so a test author sees the mistake instead of a bare 400.
/// </summary>
internal sealed class BadRequestExceptionHandler(IProblemDetailsService problemDetails) : IExceptionHandler
{
    public async ValueTask<bool> TryHandleAsync(HttpContext httpContext, Exception exception, CancellationToken cancellationToken)
    {
        if (exception is not BadHttpRequestException badRequest)
        {
            return false;
        }

        httpContext.Response.StatusCode = badRequest.StatusCode;
        return await problemDetails.TryWriteAsync(new ProblemDetailsContext
        {
            HttpContext = httpContext,
            Exception = exception,
            ProblemDetails =
            {
                Status = badRequest.StatusCode,
                Title = badRequest.Message,
                Detail = badRequest.InnerException?.Message,
            },
        });
    }
}
