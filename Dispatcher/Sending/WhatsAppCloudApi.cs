using System.Net;
using System.Text.Json;
using System.Text.Json.Serialization;
using Refit;

namespace GovSg.Dispatcher.Sending;

/// <summary>
/// The Graph API's send call (SPEC §5, WHATSAPP.md), as Refit implements it. Only the wire shape lives here: the
/// timeout, whether a failed call may have been sent, and what a failure means are <see cref="WhatsAppClient"/>'s.
/// </summary>
public interface IWhatsAppCloudApi
{
    [Post("/{version}/{phone_number_id}/messages")]
    Task<IApiResponse<SendMessageResponse>> SendMessageAsync(
        string version,
        [AliasAs("phone_number_id")] string phoneNumberId,
        [Authorize("Bearer")] string accessToken,
        [Body] TemplateMessage message,
        CancellationToken cancellationToken);
}

public static class WhatsAppCloudApi
{
    public static RefitSettings Settings() => new(new SystemTextJsonContentSerializer(new JsonSerializerOptions
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    }))
    {
        // HTTP/2 where the provider offers it (graph.facebook.com does): hundreds of calls in flight share a few
        // connections. Plain http (the simulator) stays on HTTP/1.1.
        Version = HttpVersion.Version20,
        VersionPolicy = HttpVersionPolicy.RequestVersionOrLower,
        // A body of known length instead of a chunked stream: it is small, and every proxy takes it.
        RequestBodySerialization = RequestBodySerializationMode.Buffered,
        // A transport failure reaches WhatsAppClient as HttpClient threw it: whether the request may have been sent is
        // read from it there.
        TransportExceptionFactory = (_, exception, _) => exception,
    };
}

/// <summary>A template message; <see cref="Template"/>'s components are left out when the template has no params.</summary>
public sealed record TemplateMessage(string To, string BizOpaqueCallbackData, MessageTemplate Template)
{
    public string MessagingProduct => "whatsapp";
    public string RecipientType => "individual";
    public string Type => "template";
}

public sealed record MessageTemplate(string Name, TemplateLanguage Language, IReadOnlyList<TemplateComponent>? Components);

public sealed record TemplateLanguage(string Code)
{
    public string Policy => "deterministic";
}

public sealed record TemplateComponent(IReadOnlyList<TextParameter> Parameters)
{
    public string Type => "body";
}

public sealed record TextParameter(string Text)
{
    public string Type => "text";
}

public sealed record SendMessageResponse(IReadOnlyList<SentMessage>? Messages);

public sealed record SentMessage(string? Id);
