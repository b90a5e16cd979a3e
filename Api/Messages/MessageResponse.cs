using System.Globalization;
using System.Text.Json;
using GovSg.Api.Http;

namespace GovSg.Api.Messages;

/// <summary>The message object of SPEC §3.5: exactly these fields; ids as strings.</summary>
public sealed record MessageResponse(
    string Id,
    string Recipient,
    string TemplateId,
    IReadOnlyDictionary<string, string> Params,
    [property: WireValues(Vocabulary.LanguageCode)] string LanguageCode,
    DateTime CreatedAt,
    DateTime UpdatedAt,
    DateTime? AcceptedAt,
    DateTime? SentAt,
    DateTime? DeliveredAt,
    DateTime? ReadAt,
    DateTime? ErroredAt,
    string? ErrorCode,
    string? ErrorDescription,
    [property: WireValues(Vocabulary.MessageStatus)] string Status)
{
    public static MessageResponse From(MessageRow row) => new(
        row.Id.ToString(CultureInfo.InvariantCulture),
        row.Recipient,
        row.TemplateId.ToString(CultureInfo.InvariantCulture),
        JsonSerializer.Deserialize(row.Params, ApiJsonContext.Default.DictionaryStringString) ?? [],
        row.LanguageCode,
        row.CreatedAt,
        row.UpdatedAt,
        row.AcceptedAt,
        row.SentAt,
        row.DeliveredAt,
        row.ReadAt,
        row.ErroredAt,
        row.ErrorCode,
        row.ErrorDescription,
        row.Status);
}

public sealed record MessageListResponse(bool HasMore, IReadOnlyList<MessageResponse> Data);
