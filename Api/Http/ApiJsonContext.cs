using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;
using GovSg.Api.Callbacks;
using GovSg.Api.Keys;
using GovSg.Api.Messages;
using GovSg.Api.Templates;

namespace GovSg.Api.Http;

/// <summary>Source-generated serializers for every wire type: snake_case, and timestamps as SPEC §3 writes them.</summary>
[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower,
    DefaultIgnoreCondition = JsonIgnoreCondition.Never,
    Converters = [typeof(UtcMillisecondsConverter)])]
[JsonSerializable(typeof(ErrorBody))]
[JsonSerializable(typeof(MessageResponse))]
[JsonSerializable(typeof(MessageListResponse))]
[JsonSerializable(typeof(BatchResponse))]
[JsonSerializable(typeof(KeyListResponse))]
[JsonSerializable(typeof(CreatedKeyResponse))]
[JsonSerializable(typeof(List<StoredBatchEntry>))]
[JsonSerializable(typeof(TemplateListResponse))]
[JsonSerializable(typeof(CallbackSettingsResponse))]
[JsonSerializable(typeof(CallbackSettingsUpdateResponse))]
[JsonSerializable(typeof(CallbackSecretResponse))]
[JsonSerializable(typeof(Dictionary<string, string>))]
internal sealed partial class ApiJsonContext : JsonSerializerContext;

/// <summary>Writes <c>2023-07-31T16:39:59.631Z</c>: UTC, exactly three fractional digits.</summary>
internal sealed class UtcMillisecondsConverter : JsonConverter<DateTime>
{
    public override DateTime Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) =>
        DateTime.Parse(reader.GetString()!, CultureInfo.InvariantCulture, DateTimeStyles.AdjustToUniversal);

    public override void Write(Utf8JsonWriter writer, DateTime value, JsonSerializerOptions options)
    {
        Span<char> buffer = stackalloc char[24];
        value.ToUniversalTime().TryFormat(buffer, out var written, "yyyy-MM-ddTHH:mm:ss.fffZ", CultureInfo.InvariantCulture);
        writer.WriteStringValue(buffer[..written]);
    }
}
