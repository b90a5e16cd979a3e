using Microsoft.AspNetCore.Http.HttpResults;

namespace GovSg.WhatsAppSimulator.Templates;

internal static class TemplateEndpoints
{
    public static RouteGroupBuilder MapTemplatesApi(this RouteGroupBuilder group)
    {
        group.MapGet("/templates", ListTemplates).WithName("ListTemplates");
        group.MapPut("/templates/{name}", SaveTemplate).WithName("SaveTemplate");
        return group;
    }

    public static Ok<TemplateListResponse> ListTemplates(TemplateCatalog templates) =>
        TypedResults.Ok(new TemplateListResponse(
            [.. templates.All.OrderBy(template => template.Name, StringComparer.Ordinal).Select(ToResponse)]));

    /// <summary>
    /// Approves a template while the simulator runs, for tests that create templates of their own; the body is a
    /// template object as in templates.json (<c>params</c>, <c>multilingual_support</c>), other fields ignored.
    /// </summary>
    public static Ok<TemplateResponse> SaveTemplate(string name, TemplateDocument document, TemplateCatalog templates)
    {
        var template = document.ToTemplate(name);
        templates.Save(template);
        return TypedResults.Ok(ToResponse(template));
    }

    private static TemplateResponse ToResponse(SimulatedTemplate template) =>
        new(template.Name, template.ParameterCount, [.. template.Languages.Order(StringComparer.Ordinal)]);
}

internal sealed record TemplateListResponse(IReadOnlyList<TemplateResponse> Data);

internal sealed record TemplateResponse(string Name, int ParameterCount, IReadOnlyList<string> Languages);
