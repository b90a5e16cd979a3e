using System.Text.Json;
using GovSg.Api.Http;
using GovSg.Api.Templates;

namespace GovSg.Api.Messages;

/// <summary>A send body that passed every check of SPEC §3.2: the request, its template and the normalised recipient.</summary>
public sealed record ValidSend(SendRequest Request, Template Template, string Recipient);

/// <summary>
/// The request's own checks of SPEC §3.2, in order, shared by single and batch sends. Only the template lookup
/// touches anything outside; every check after it is the pure <see cref="Check"/>.
/// </summary>
public sealed class SendValidator(GrantedTemplates templates)
{
    public async ValueTask<(ValidSend? Send, ApiError? Error)> ValidateAsync(long userId, JsonElement body,
        CancellationToken cancellationToken) => (await ValidateManyAsync(userId, [body], cancellationToken))[0];

    /// <summary>Checks each body on its own (a batch's items); each template is looked up once per call.</summary>
    public async Task<IReadOnlyList<(ValidSend? Send, ApiError? Error)>> ValidateManyAsync(long userId,
        IReadOnlyList<JsonElement> bodies, CancellationToken cancellationToken)
    {
        var found = new Dictionary<long, Template?>();
        var results = new List<(ValidSend?, ApiError?)>(bodies.Count);
        foreach (var body in bodies)
        {
            if (SendRequest.TryParse(body, out var request) is { } shapeError)
            {
                results.Add((null, shapeError));
                continue;
            }

            if (!found.TryGetValue(request!.TemplateId, out var template))
            {
                found[request.TemplateId] = template = await templates.FindAsync(userId, request.TemplateId, cancellationToken);
            }

            results.Add(Check(request, template));
        }

        return results;
    }

    /// <summary>Checks 2 to 5 for a well-shaped request, given its template if the user may send it.</summary>
    public static (ValidSend? Send, ApiError? Error) Check(SendRequest request, Template? template)
    {
        if (template is null)
        {
            return (null, ApiError.NotFound($"Template with ID {request.TemplateId} not found"));
        }

        var templateBody = template.BodyIn(request.LanguageCode);
        if (templateBody is null)
        {
            return (null, ApiError.Validation($"Language Code {request.LanguageCode} not available on the template"));
        }

        var recipient = RecipientNormalizer.Normalize(request.Recipient);
        if (recipient is null)
        {
            return (null, ApiError.InvalidRecipient(request.Recipient));
        }

        return TemplateParams.Validate(template, templateBody, request.Params) is { } paramsError
            ? (null, paramsError)
            : (new ValidSend(request, template, recipient), null);
    }
}
