namespace GovSg.WhatsAppSimulator.Messages;

/// <summary>An error as Meta's Graph API reports it; <see cref="ToResponse"/> gives the wire envelope.</summary>
internal sealed record GraphError(
    int HttpStatus,
    int Code,
    string Message,
    string? Details = null,
    string Type = "OAuthException",
    int? Subcode = null)
{
    public GraphErrorResponse ToResponse() => new(new GraphErrorBody(
        Message,
        Type,
        Code,
        Subcode,
        Details is null ? null : new GraphErrorData("whatsapp", Details),
        ProviderIds.NewFbTraceId()));
}

internal sealed record GraphErrorResponse(GraphErrorBody Error);

internal sealed record GraphErrorBody(
    string Message,
    string Type,
    int Code,
    int? ErrorSubcode,
    GraphErrorData? ErrorData,
    string FbtraceId);

internal sealed record GraphErrorData(string MessagingProduct, string Details);
