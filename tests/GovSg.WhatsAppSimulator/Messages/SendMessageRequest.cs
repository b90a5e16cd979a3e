namespace GovSg.WhatsAppSimulator.Messages;

/// <summary>
/// The part of Meta's send body the simulator checks. Everything is nullable so that a missing field is answered
/// with Meta's (#100) error rather than the framework's; unknown fields are ignored, as Meta ignores them. Names are
/// matched exactly, as Meta matches them: <c>"TO"</c> is not <c>"to"</c>.
/// </summary>
internal sealed record SendMessageRequest(
    string? MessagingProduct,
    string? To,
    string? Type,
    TemplateRequest? Template,
    string? BizOpaqueCallbackData = null,
    string? RecipientType = null);

internal sealed record TemplateRequest(string? Name, LanguageRequest? Language, IReadOnlyList<ComponentRequest>? Components);

internal sealed record LanguageRequest(string? Code, string? Policy = null);

internal sealed record ComponentRequest(string? Type, IReadOnlyList<ParameterRequest>? Parameters);

internal sealed record ParameterRequest(string? Type, string? Text);
