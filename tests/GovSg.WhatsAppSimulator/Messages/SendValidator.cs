using System.Diagnostics.CodeAnalysis;
using GovSg.WhatsAppSimulator.Recipients;
using GovSg.WhatsAppSimulator.Templates;

namespace GovSg.WhatsAppSimulator.Messages;

/// <summary>A send that passed Meta's checks, with what the history and the webhooks need.</summary>
internal sealed record ValidSend(
    string To,
    string WaId,
    string Template,
    string Language,
    IReadOnlyList<string> Parameters,
    string? BizOpaqueCallbackData);

/// <summary>Meta's checks on a send body, in the order it reports them.</summary>
internal static class SendValidator
{
    /// <summary>The most <c>biz_opaque_callback_data</c> Meta takes.</summary>
    private const int MaxOpaqueDataLength = 512;

    public static bool TryValidate(
        SendMessageRequest request,
        TemplateCatalog templates,
        [NotNullWhen(true)] out ValidSend? send,
        [NotNullWhen(false)] out GraphError? error)
    {
        send = null;
        if (request.MessagingProduct != "whatsapp")
        {
            error = GraphErrors.InvalidParameter("messaging_product must be \"whatsapp\"");
            return false;
        }

        if (request.BizOpaqueCallbackData is { Length: > MaxOpaqueDataLength })
        {
            error = GraphErrors.InvalidParameter($"biz_opaque_callback_data must be at most {MaxOpaqueDataLength} characters");
            return false;
        }

        if (request.RecipientType is not (null or "individual"))
        {
            error = GraphErrors.InvalidParameter("recipient_type must be \"individual\"");
            return false;
        }

        if (request.Type != "template")
        {
            error = GraphErrors.InvalidParameter("type must be \"template\"; the simulator only sends template messages");
            return false;
        }

        if (request.To is not { } to)
        {
            error = GraphErrors.InvalidParameter("to is required");
            return false;
        }

        if (!RecipientNumber.TryGetWaId(to, out var waId))
        {
            error = GraphErrors.InvalidParameter($"to ({to}) must be 7 to 15 digits, optionally after a +");
            return false;
        }

        if (request.Template?.Name is not { } name || request.Template.Language?.Code is not { } language)
        {
            error = GraphErrors.InvalidParameter("template.name and template.language.code are required");
            return false;
        }

        if (request.Template.Language.Policy is not (null or "deterministic"))
        {
            error = GraphErrors.InvalidParameter("template.language.policy must be \"deterministic\"");
            return false;
        }

        if (!templates.TryGet(name, out var template) || !template.Languages.Contains(language))
        {
            error = GraphErrors.TemplateNotFound(name, language);
            return false;
        }

        // The simulator's templates have a body only: parameters for a header or buttons do not match them either.
        var given = new List<ParameterRequest>();
        foreach (var component in request.Template.Components ?? [])
        {
            if (component.Type is not ("header" or "body" or "button"))
            {
                error = GraphErrors.InvalidParameter("template.components[].type must be header, body or button");
                return false;
            }

            var parameters = component.Parameters ?? [];
            if (component.Type != "body" && parameters.Count > 0)
            {
                error = GraphErrors.ParameterCountMismatch(component.Type, parameters.Count, 0);
                return false;
            }

            given.AddRange(parameters);
        }

        if (given.Count != template.ParameterCount)
        {
            error = GraphErrors.ParameterCountMismatch("body", given.Count, template.ParameterCount);
            return false;
        }

        var texts = new string[given.Count];
        for (var i = 0; i < given.Count; i++)
        {
            if (given[i].Type != "text")
            {
                error = GraphErrors.ParameterTypeMismatch(i + 1);
                return false;
            }

            if (given[i].Text is not { Length: > 0 } text)
            {
                error = GraphErrors.ParameterMissing(i + 1);
                return false;
            }

            if (!IsAcceptedText(text))
            {
                error = GraphErrors.ParameterFormat();
                return false;
            }

            texts[i] = text;
        }

        error = null;
        send = new ValidSend(to, waId, name, language, texts, request.BizOpaqueCallbackData);
        return true;
    }

    /// <summary>Meta's rule for template parameters: no new-lines or tabs, no more than 4 consecutive spaces.</summary>
    private static bool IsAcceptedText(string text) =>
        !text.AsSpan().ContainsAny('\n', '\r', '\t') && !text.Contains("     ", StringComparison.Ordinal);
}
