using System.ComponentModel.DataAnnotations;
using GovSg.Api.Http;

namespace GovSg.Api.Keys;

/// <summary>A key in the listing (SPEC §3.9): exactly these fields.</summary>
public sealed record KeyResponse(
    string Id,
    string Label,
    [property: WireValues(Vocabulary.KeyType)] string Type,
    string? LastFive,
    DateTime CreatedAt,
    DateTime? LastUsedAt,
    DateTime ValidUntil,
    DateTime? RevokedAt)
{
    public static KeyResponse From(KeyRow row) =>
        new(row.KeyId, row.Label, row.Type, row.LastFive, row.CreatedAt, row.LastUsedAt, row.ValidUntil, row.RevokedAt);
}

/// <summary>A key just created: the listing's fields plus the key itself, shown this once.</summary>
public sealed record CreatedKeyResponse(
    string Id,
    string Label,
    [property: WireValues(Vocabulary.KeyType)] string Type,
    string? LastFive,
    DateTime CreatedAt,
    DateTime? LastUsedAt,
    DateTime ValidUntil,
    DateTime? RevokedAt,
    string Key)
{
    public static CreatedKeyResponse From(KeyRow row, string key) =>
        new(row.KeyId, row.Label, row.Type, row.LastFive, row.CreatedAt, row.LastUsedAt, row.ValidUntil, row.RevokedAt, key);
}

public sealed record KeyListResponse(IReadOnlyList<KeyResponse> Data);

/// <summary>
/// The create body as documented in OpenAPI; the handler parses the raw JSON itself to give exact messages. A type that
/// is missing or null is the calling key's: nullable in the document, so that a typed client's unset type is sent as
/// nothing rather than as its enum's first value.
/// </summary>
[RefusesUnknownFields]
public sealed record CreateKeyRequestBody(
    [property: MinLength(1), MaxLength(CreateKeyRequest.MaxLabelLength)] string Label,
    [property: WireDefault("180"), Range(1, CreateKeyRequest.MaxValidDays)] int ValidDays,
    [property: WireValues(Vocabulary.KeyType)] string? Type = null);
