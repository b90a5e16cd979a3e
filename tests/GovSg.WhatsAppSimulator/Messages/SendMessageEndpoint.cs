using System.Text.Json;
using GovSg.WhatsAppSimulator.Control;
using GovSg.WhatsAppSimulator.Recipients;
using GovSg.WhatsAppSimulator.Templates;
using GovSg.WhatsAppSimulator.Webhooks;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Http.Json;
using Microsoft.AspNetCore.WebUtilities;
using Microsoft.Extensions.Options;
using SendResult = Microsoft.AspNetCore.Http.HttpResults.Results<
    Microsoft.AspNetCore.Http.HttpResults.Ok<GovSg.WhatsAppSimulator.Messages.SendMessageResponse>,
    Microsoft.AspNetCore.Http.HttpResults.JsonHttpResult<GovSg.WhatsAppSimulator.Messages.GraphErrorResponse>,
    Microsoft.AspNetCore.Http.HttpResults.ContentHttpResult>;

namespace GovSg.WhatsAppSimulator.Messages;

/// <summary>Meta's <c>POST /{version}/{phone_number_id}/messages</c>, for template messages.</summary>
internal static class SendMessageEndpoint
{
    public static IEndpointRouteBuilder MapSendMessageApi(this IEndpointRouteBuilder app)
    {
        app.MapPost("/{version}/{phoneNumberId}/messages", SendMessageAsync).WithName("SendMessage");
        return app;
    }

    public static async Task<SendResult> SendMessageAsync(
        string phoneNumberId,
        HttpRequest request,
        [AsParameters] SendMessageServices services,
        CancellationToken cancellationToken)
    {
        services.Stats.SendRequested();
        var settings = services.Settings.Current;
        var (result, extraDelayMs) = await DecideAsync(phoneNumberId, request, settings, services, cancellationToken);

        // Meta takes a while to answer, whatever the answer. A caller that gives up meanwhile has still had its
        // message accepted, which is exactly the "unknown outcome" its retries must cope with.
        await Task.Delay(TimeSpan.FromMilliseconds(settings.LatencyMs + extraDelayMs), services.Time, cancellationToken);
        return result;
    }

    private static async Task<(SendResult Result, int ExtraDelayMs)> DecideAsync(
        string phoneNumberId,
        HttpRequest request,
        SimulationSettings settings,
        SendMessageServices services,
        CancellationToken cancellationToken)
    {
        var options = services.Options.Value;
        if (!HasBearerToken(request, options.AccessToken))
        {
            return (Reject(GraphErrors.InvalidAccessToken(), services.Stats), 0);
        }

        if (phoneNumberId != options.PhoneNumberId)
        {
            return (Reject(GraphErrors.UnknownPhoneNumberId(phoneNumberId), services.Stats), 0);
        }

        if (await ReadBodyAsync(request, services.Json.Value.SerializerOptions, cancellationToken) is not { } body)
        {
            return (Reject(GraphErrors.InvalidParameter("The request body is not a JSON object"), services.Stats), 0);
        }

        if (!SendValidator.TryValidate(body, services.Templates, out var send, out var invalid))
        {
            return (Reject(invalid, services.Stats), 0);
        }

        if (!services.Limiter.TryAcquire(settings.MessagesPerSecond))
        {
            return (Reject(GraphErrors.RateLimitHit(), services.Stats), 0);
        }

        var rule = services.Rules.Find(send.WaId);
        var extraDelayMs = (rule?.NextExtraDelayMs() ?? 0)
            + (settings.LateRate > 0 && Random.Shared.NextDouble() < settings.LateRate ? settings.LateMs : 0);
        if (rule?.NextSendFailure() is { } failure)
        {
            return failure.Error is { } error
                ? (Reject(error, services.Stats), extraDelayMs)
                : (RejectWithoutJson(failure.HttpStatus, services.Stats), extraDelayMs);
        }

        if (settings.ErrorRate > 0 && Random.Shared.NextDouble() < settings.ErrorRate)
        {
            return (Reject(GraphErrors.SomethingWentWrong(), services.Stats), extraDelayMs);
        }

        return (await AcceptAsync(send, rule, settings, services, cancellationToken), extraDelayMs);
    }

    private static async Task<Ok<SendMessageResponse>> AcceptAsync(
        ValidSend send,
        RecipientRule? rule,
        SimulationSettings settings,
        SendMessageServices services,
        CancellationToken cancellationToken)
    {
        var wamid = ProviderIds.NewWamid();
        var receivedAt = services.Time.GetUtcNow();
        services.History.Add(new RecordedSend(
            wamid, send.WaId, send.Template, send.Language, send.Parameters, receivedAt, send.BizOpaqueCallbackData));
        services.Stats.Accepted();
        await services.Statuses.ScheduleAsync(
            wamid,
            send.WaId,
            settings.EchoOpaqueData ? send.BizOpaqueCallbackData : null,
            rule?.Webhooks ?? WebhookMode.Normal,
            rule?.WebhookErrorCode ?? GraphErrors.Undeliverable,
            settings,
            cancellationToken);

        return TypedResults.Ok(new SendMessageResponse(
            "whatsapp",
            [new SendMessageContact(send.To, send.WaId)],
            [new SendMessageId(wamid, "accepted")]));
    }

    private static bool HasBearerToken(HttpRequest request, string accessToken)
    {
        const string Scheme = "Bearer ";
        var authorization = request.Headers.Authorization.ToString();
        return authorization.StartsWith(Scheme, StringComparison.OrdinalIgnoreCase)
            && authorization.AsSpan(Scheme.Length).Trim().SequenceEqual(accessToken);
    }

    private static async Task<SendMessageRequest?> ReadBodyAsync(
        HttpRequest request,
        JsonSerializerOptions json,
        CancellationToken cancellationToken)
    {
        try
        {
            return await JsonSerializer.DeserializeAsync<SendMessageRequest>(request.Body, json, cancellationToken);
        }
        catch (JsonException)
        {
            return null;
        }
    }

    private static JsonHttpResult<GraphErrorResponse> Reject(GraphError error, SimulatorStats stats)
    {
        stats.Rejected(error.Code);
        return TypedResults.Json(error.ToResponse(), statusCode: error.HttpStatus);
    }

    private static ContentHttpResult RejectWithoutJson(int httpStatus, SimulatorStats stats)
    {
        stats.Rejected($"http_{httpStatus}");
        var status = $"{httpStatus} {ReasonPhrases.GetReasonPhrase(httpStatus)}";
        return TypedResults.Content(
            $"<html><head><title>{status}</title></head><body><h1>{status}</h1></body></html>",
            "text/html",
            statusCode: httpStatus);
    }
}

/// <summary>What the send endpoint works with, bound from the container.</summary>
internal sealed record SendMessageServices(
    IOptions<SimulatorOptions> Options,
    IOptions<JsonOptions> Json,
    SettingsStore Settings,
    TemplateCatalog Templates,
    ThroughputLimiter Limiter,
    RecipientRules Rules,
    SendHistory History,
    StatusScheduler Statuses,
    SimulatorStats Stats,
    TimeProvider Time);
