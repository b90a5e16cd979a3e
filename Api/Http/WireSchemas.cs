using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using System.Text.Json.Serialization.Metadata;
using GovSg.Api.Keys;
using GovSg.Api.Messages;
using GovSg.Api.Templates;
using Microsoft.AspNetCore.OpenApi;
using Microsoft.OpenApi;

namespace GovSg.Api.Http;

/// <summary>The closed sets of values the wire uses, documented as enums.</summary>
public enum Vocabulary
{
    MessageStatus,
    LanguageCode,
    ErrorCode,
    KeyType,
}

/// <summary>The property takes one of a <see cref="Vocabulary"/>'s values (an enum in OpenAPI).</summary>
[AttributeUsage(AttributeTargets.Property)]
public sealed class WireValuesAttribute(Vocabulary vocabulary) : Attribute
{
    public Vocabulary Vocabulary { get; } = vocabulary;
}

/// <summary>The request property may be left out, and then takes this default (JSON text): optional, not nullable.</summary>
[AttributeUsage(AttributeTargets.Property)]
public sealed class WireDefaultAttribute(string json) : Attribute
{
    public string Json { get; } = json;
}

/// <summary>A map whose every value must be a non-empty string (<c>minLength: 1</c> on its values).</summary>
[AttributeUsage(AttributeTargets.Property)]
public sealed class NonEmptyValuesAttribute : Attribute;

/// <summary>A request body whose handler refuses any field it does not name (<c>"x" is not allowed</c>).</summary>
[AttributeUsage(AttributeTargets.Class)]
public sealed class RefusesUnknownFieldsAttribute : Attribute;

/// <summary>Shapes schemas the way the wire really is, where the JSON serializer's own description falls short.</summary>
internal static class WireSchemas
{
    public static Task TransformAsync(OpenApiSchema schema, OpenApiSchemaTransformerContext context, CancellationToken cancellationToken)
    {
        var type = context.JsonTypeInfo.Type;
        var underlying = Nullable.GetUnderlyingType(type) ?? type;
        if (underlying == typeof(DateTime))
        {
            // Written by our own converter, which the schema exporter cannot see through.
            schema.Type = type == underlying ? JsonSchemaType.String : JsonSchemaType.String | JsonSchemaType.Null;
            schema.Format = "date-time";
        }
        else if (type == typeof(JsonElement))
        {
            schema.Type = JsonSchemaType.Object;
            schema.AdditionalProperties = new OpenApiSchema();
        }
        else if (schema.Type is { } types && (types & (JsonSchemaType.Integer | JsonSchemaType.Number)) != 0)
        {
            // The web defaults also read numbers from strings; clients should send numbers.
            schema.Type = types & ~JsonSchemaType.String;
            schema.Pattern = null;
        }

        if (context.JsonPropertyInfo?.AttributeProvider is { } property)
        {
            DescribeProperty(schema, property);
        }
        else if (context.JsonTypeInfo.Kind == JsonTypeInfoKind.Object)
        {
            foreach (var optional in context.JsonTypeInfo.Properties.Where(p =>
                Attribute<WireDefaultAttribute>(p.AttributeProvider) is not null || OmittedWhenNull(p.AttributeProvider)))
            {
                schema.Required?.Remove(optional.Name);
            }

            if (Attribute<RefusesUnknownFieldsAttribute>(type) is not null)
            {
                schema.AdditionalPropertiesAllowed = false;
            }
        }

        return Task.CompletedTask;
    }

    private static void DescribeProperty(OpenApiSchema schema, System.Reflection.ICustomAttributeProvider property)
    {
        if (schema.Type is { } types && types.HasFlag(JsonSchemaType.Object) && schema.MaxLength is { } count)
        {
            // [MaxLength] on a dictionary counts its entries.
            schema.MaxProperties = count;
            schema.MaxLength = null;
        }

        if (Attribute<NonEmptyValuesAttribute>(property) is not null && schema.AdditionalProperties is OpenApiSchema valueSchema)
        {
            valueSchema.MinLength = 1;
        }

        if (Attribute<WireValuesAttribute>(property) is { } values)
        {
            schema.Enum = EnumOf(values.Vocabulary);
        }

        if (Attribute<WireDefaultAttribute>(property) is { } fallback)
        {
            schema.Default = JsonNode.Parse(fallback.Json);
            schema.Type &= ~JsonSchemaType.Null;
        }
        else if (OmittedWhenNull(property))
        {
            // Left out rather than null, on the wire both ways.
            schema.Type &= ~JsonSchemaType.Null;
        }
    }

    /// <summary>
    /// A reference property that is left out when null (a batch entry's <c>message</c> or <c>error</c>) is optional and
    /// never null; the generator still offers null as a choice beside the reference (a <c>oneOf</c>), which typed clients
    /// stumble on. It becomes the plain reference.
    /// </summary>
    public static Task OptionalReferencesAsync(OpenApiDocument document, OpenApiDocumentTransformerContext context,
        CancellationToken cancellationToken)
    {
        foreach (var schema in document.Components?.Schemas?.Values ?? [])
        {
            foreach (var (name, property) in schema.Properties?.ToList() ?? [])
            {
                if (schema.Required?.Contains(name) != true && property is OpenApiSchema { OneOf: { Count: 2 } choices }
                    && choices.FirstOrDefault(choice => choice is OpenApiSchemaReference) is { } reference)
                {
                    schema.Properties![name] = reference;
                }
            }
        }

        return Task.CompletedTask;
    }

    private static bool OmittedWhenNull(System.Reflection.ICustomAttributeProvider? property) =>
        Attribute<JsonIgnoreAttribute>(property) is { Condition: JsonIgnoreCondition.WhenWritingNull };

    /// <summary>A vocabulary's values as an OpenAPI enum.</summary>
    public static List<JsonNode> EnumOf(Vocabulary vocabulary) =>
        [.. Values(vocabulary).Select(value => (JsonNode)JsonValue.Create(value))];

    private static IEnumerable<string> Values(Vocabulary vocabulary) => vocabulary switch
    {
        Vocabulary.MessageStatus => ListQuery.Statuses,
        Vocabulary.LanguageCode => Template.Languages.Select(language => language.Code),
        Vocabulary.ErrorCode => ApiError.Codes,
        Vocabulary.KeyType => Contracts.KeyType.All,
        _ => throw new ArgumentOutOfRangeException(nameof(vocabulary), vocabulary, null),
    };

    private static T? Attribute<T>(System.Reflection.ICustomAttributeProvider? provider) where T : Attribute =>
        provider?.GetCustomAttributes(typeof(T), inherit: true).OfType<T>().FirstOrDefault();
}
