using System.Text.Json;
using GovSg.Api.Auth;
using GovSg.Api.Http;
using GovSg.Api.RateLimiting;
using Microsoft.AspNetCore.Http.HttpResults;

namespace GovSg.Api.Templates;

public static class TemplateEndpoints
{
    public static RouteGroupBuilder MapTemplates(this RouteGroupBuilder v1)
    {
        v1.MapGet("/govsg/templates", ListAsync).WithName("ListTemplates").WithTags("Templates")
            .WithSummary("List your templates")
            .WithDescription("The templates granted to you, with their parameters and the languages they are offered in.")
            .RequireAuthorization().AddEndpointFilter<ReadRateLimitFilter>().IgnoresBody().InReadSlot()
            .ProducesError(429, 503)
            .WithResponseHeaders([StatusCodes.Status429TooManyRequests], ApiHeaders.RetryAfter);
        return v1;
    }

    public static async Task<Ok<TemplateListResponse>> ListAsync(Caller caller, TemplateStore store, CancellationToken cancellationToken)
    {
        var templates = await store.ListGrantedAsync(caller.UserId, cancellationToken);
        return TypedResults.Ok(new TemplateListResponse(templates.Select(TemplateResponse.From).ToList()));
    }
}

/// <summary>A template as agencies see it (SPEC §3.7); the WhatsApp name stays internal.</summary>
public sealed record TemplateResponse(
    long Id,
    string Name,
    string Body,
    IReadOnlyList<string> Params,
    JsonElement ParamMetadata,
    IReadOnlyList<LanguageResponse> MultilingualSupport)
{
    public static TemplateResponse From(Template template) => new(
        template.Id,
        template.Name,
        template.Body,
        template.Params,
        JsonDocument.Parse(template.ParamMetadataJson).RootElement.Clone(),
        Template.Languages
            .Where(l => template.Translations.ContainsKey(l.Code))
            .Select(l => new LanguageResponse(l.Code, l.Name, template.Translations[l.Code]))
            .ToList());
}

public sealed record LanguageResponse([property: WireValues(Vocabulary.LanguageCode)] string LanguageCode, string Language, string Body);

public sealed record TemplateListResponse(IReadOnlyList<TemplateResponse> Data);
