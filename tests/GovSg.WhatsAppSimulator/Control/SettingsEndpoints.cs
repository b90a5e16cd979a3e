using System.Text.Json.Serialization;
using Microsoft.AspNetCore.Http.HttpResults;

namespace GovSg.WhatsAppSimulator.Control;

internal static class SettingsEndpoints
{
    public static RouteGroupBuilder MapSettingsApi(this RouteGroupBuilder group)
    {
        group.MapGet("/settings", GetSettings).WithName("GetSettings");
        group.MapPut("/settings", UpdateSettings).WithName("UpdateSettings");
        return group;
    }

    public static Ok<SimulationSettings> GetSettings(SettingsStore settings) => TypedResults.Ok(settings.Current);

    public static Results<Ok<SimulationSettings>, ValidationProblem> UpdateSettings(SettingsUpdate update, SettingsStore settings)
    {
        var errors = update.Validate();
        if (errors.Count > 0)
        {
            return TypedResults.ValidationProblem(errors);
        }

        return TypedResults.Ok(settings.Update(update.ApplyTo));
    }
}

/// <summary>The body of <c>PUT /_sim/settings</c>: only the fields given change.</summary>
[JsonUnmappedMemberHandling(JsonUnmappedMemberHandling.Disallow)]
internal sealed record SettingsUpdate(
    int? LatencyMs,
    int? MessagesPerSecond,
    double? ErrorRate,
    int? SentDelayMs,
    int? DeliveredDelayMs,
    int? ReadDelayMs,
    string? WebhookUrl,
    bool? EchoOpaqueData,
    double? LateRate,
    int? LateMs)
{
    public Dictionary<string, string[]> Validate()
    {
        var errors = new Dictionary<string, string[]>();
        RequireNonNegative(errors, "latency_ms", LatencyMs);
        RequireNonNegative(errors, "messages_per_second", MessagesPerSecond);
        RequireNonNegative(errors, "sent_delay_ms", SentDelayMs);
        RequireNonNegative(errors, "delivered_delay_ms", DeliveredDelayMs);
        RequireNonNegative(errors, "read_delay_ms", ReadDelayMs);
        RequireNonNegative(errors, "late_ms", LateMs);
        if (LateRate is < 0.0 or > 1.0)
        {
            errors["late_rate"] = ["must be between 0 and 1"];
        }

        if (ErrorRate is < 0.0 or > 1.0)
        {
            errors["error_rate"] = ["must be between 0 and 1"];
        }

        if (WebhookUrl is not null && !SimulationSettings.IsWebhookUrl(WebhookUrl))
        {
            errors["webhook_url"] = ["must be an absolute http(s) URL"];
        }

        return errors;
    }

    public SimulationSettings ApplyTo(SimulationSettings current) => new(
        LatencyMs ?? current.LatencyMs,
        MessagesPerSecond ?? current.MessagesPerSecond,
        ErrorRate ?? current.ErrorRate,
        SentDelayMs ?? current.SentDelayMs,
        DeliveredDelayMs ?? current.DeliveredDelayMs,
        ReadDelayMs ?? current.ReadDelayMs,
        WebhookUrl ?? current.WebhookUrl,
        EchoOpaqueData ?? current.EchoOpaqueData,
        LateRate ?? current.LateRate,
        LateMs ?? current.LateMs);

    private static void RequireNonNegative(Dictionary<string, string[]> errors, string field, int? value)
    {
        if (value < 0)
        {
            errors[field] = ["must not be negative"];
        }
    }
}
