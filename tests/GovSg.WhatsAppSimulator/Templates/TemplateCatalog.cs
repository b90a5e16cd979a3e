using System.Collections.Concurrent;
using System.Diagnostics.CodeAnalysis;
using System.Text.Json;
using Microsoft.AspNetCore.Http.Json;
using Microsoft.Extensions.Options;

namespace GovSg.WhatsAppSimulator.Templates;

/// <summary>The templates Meta has "approved": those of the templates file, plus any added through the control API.</summary>
internal sealed class TemplateCatalog
{
    private readonly ConcurrentDictionary<string, SimulatedTemplate> _templates = new(StringComparer.Ordinal);

    public TemplateCatalog(IOptions<SimulatorOptions> options, IOptions<JsonOptions> json)
    {
        var path = options.Value.TemplatesFile;
        using var file = File.OpenRead(path);
        var documents = JsonSerializer.Deserialize<List<TemplateDocument>>(file, json.Value.SerializerOptions)
            ?? throw new InvalidDataException($"{path} holds no template list.");
        foreach (var document in documents)
        {
            var name = document.WhatsappTemplateName
                ?? throw new InvalidDataException($"{path}: every template needs a whatsapp_template_name.");
            Save(document.ToTemplate(name));
        }
    }

    public IEnumerable<SimulatedTemplate> All => _templates.Values;

    public bool TryGet(string name, [NotNullWhen(true)] out SimulatedTemplate? template) =>
        _templates.TryGetValue(name, out template);

    public void Save(SimulatedTemplate template) => _templates[template.Name] = template;
}
