using GovSg.Api.Auth;
using GovSg.Api.Extensions;
using GovSg.Api.Http;

namespace GovSg.Api.RateLimiting;

/// <summary>
/// A read's turn: one of its caller's <see cref="ReadSlots"/> for as long as its handler runs, taken last, once the read
/// token is spent and any body is read, so that only the database work holds it; 503 when none comes in time.
/// </summary>
public sealed class ReadSlotsFilter(ReadSlots slots, ApiMetrics metrics) : IEndpointFilter
{
    public async ValueTask<object?> InvokeAsync(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
    {
        var http = context.HttpContext;
        using var slot = await slots.AcquireAsync(http.Features.Get<Caller>()!, http.RequestAborted);
        if (slot is not null)
        {
            return await next(context);
        }

        metrics.SlotRefused("read");
        return ApiError.ServiceUnavailable();
    }
}

public static class ReadSlotsExtensions
{
    /// <summary>The route reads the database: its handler runs in one of the caller's read slots (<see cref="ReadSlotsFilter"/>).</summary>
    public static RouteHandlerBuilder InReadSlot(this RouteHandlerBuilder builder) => builder.AddEndpointFilter<ReadSlotsFilter>();
}
