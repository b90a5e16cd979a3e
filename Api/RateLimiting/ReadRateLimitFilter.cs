using GovSg.Api.Auth;
using GovSg.Api.Http;

namespace GovSg.Api.RateLimiting;

/// <summary>
/// The read limit (SPEC §7): one read token per request, taken after authentication, then one of the user's
/// <see cref="ReadSlots"/> for as long as the request runs. Key and callback-settings writes take them too: an honest
/// caller makes a handful, and each one adds a row.
/// </summary>
public sealed class ReadRateLimitFilter(RateLimiter limiter, ReadSlots slots) : IEndpointFilter
{
    public async ValueTask<object?> InvokeAsync(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
    {
        var http = context.HttpContext;
        var caller = http.Features.Get<Caller>()!;
        if (await limiter.TakeReadAsync(http, caller) is { } refusal)
        {
            return refusal;
        }

        using var slot = await slots.AcquireAsync(caller, http.RequestAborted);
        return slot is null ? ApiError.ServiceUnavailable() : await next(context);
    }
}
