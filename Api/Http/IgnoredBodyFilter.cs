using GovSg.Api.Messages;
using Microsoft.AspNetCore.Http.Features;

namespace GovSg.Api.Http;

/// <summary>
/// A route that takes no body ignores one, but not one over the size SPEC §3 refuses on every agency route: it reads it
/// up to the cap, chunked too, and answers 413 beyond. Added after the rate limit, as the order of handling there says.
/// </summary>
public sealed class IgnoredBodyFilter : IEndpointFilter
{
    public async ValueTask<object?> InvokeAsync(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
    {
        var http = context.HttpContext;
        if (http.Features.Get<IHttpRequestBodyDetectionFeature>() is { CanHaveBody: false })
        {
            return await next(context);
        }

        return (await RequestBody.ReadAsync(http.Request, MessageEndpoints.MaxBodyBytes, http.RequestAborted)).Error
               ?? await next(context);
    }
}

public static class IgnoredBodyExtensions
{
    /// <summary>The route takes no body: one over 64 KiB is refused (<see cref="IgnoredBodyFilter"/>).</summary>
    public static RouteHandlerBuilder IgnoresBody(this RouteHandlerBuilder builder) =>
        builder.AddEndpointFilter<IgnoredBodyFilter>().ProducesError(StatusCodes.Status413PayloadTooLarge);
}
