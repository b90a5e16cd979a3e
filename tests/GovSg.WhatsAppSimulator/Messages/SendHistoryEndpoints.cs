using GovSg.WhatsAppSimulator.Recipients;
using Microsoft.AspNetCore.Http.HttpResults;

namespace GovSg.WhatsAppSimulator.Messages;

internal static class SendHistoryEndpoints
{
    public static RouteGroupBuilder MapSendHistoryApi(this RouteGroupBuilder group)
    {
        group.MapGet("/sends", ListSends).WithName("ListSends");
        group.MapDelete("/sends", ClearSends).WithName("ClearSends");
        return group;
    }

    public static Results<Ok<SendListResponse>, ValidationProblem> ListSends(string? to, SendHistory history)
    {
        // An unencoded + in a query string arrives as a space.
        string? waId = null;
        if (to is not null && !RecipientNumber.TryGetWaId(to.TrimStart(' '), out waId))
        {
            return TypedResults.ValidationProblem(new Dictionary<string, string[]>
            {
                ["to"] = ["must be 7 to 15 digits, optionally after a +"],
            });
        }

        return TypedResults.Ok(new SendListResponse(history.Find(waId)));
    }

    public static NoContent ClearSends(SendHistory history)
    {
        history.Clear();
        return TypedResults.NoContent();
    }
}

internal sealed record SendListResponse(IReadOnlyList<RecordedSend> Data);
