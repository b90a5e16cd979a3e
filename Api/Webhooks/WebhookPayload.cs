using System.Globalization;
using System.Text.Json;
using GovSg.Api.Http;
using GovSg.Contracts;
using GovSg.Hosting;

namespace GovSg.Api.Webhooks;

/// <summary>
/// Reads Meta's webhook body: every status of every change of every entry, for our phone number only (those for another
/// number are counted). Inbound user messages and kinds we do not track are skipped; a status missing its id or
/// timestamp is skipped and counted.
/// </summary>
public static class WebhookPayload
{
    private static readonly HashSet<string> TrackedStatuses = ["sent", "delivered", "read", "failed"];

    /// <summary>The most <c>biz_opaque_callback_data</c> a send may carry (WHATSAPP.md).</summary>
    private const int MaxOpaqueDataLength = 512;

    /// <summary>
    /// The longest status id taken. Meta's wamids are under a hundred characters; a far longer one is not Meta's, and
    /// one past PostgreSQL's index entry limit (about 2.7 kB) could never be recorded on a message, so a status naming
    /// it would fail every attempt to adopt one.
    /// </summary>
    private const int MaxProviderIdLength = 512;

    /// <summary>The last second a <see cref="DateTime"/> holds (9999-12-31T23:59:59Z); a later timestamp is unreadable.</summary>
    private static readonly long MaxUnixSeconds = (DateTime.MaxValue - DateTime.UnixEpoch).Ticks / TimeSpan.TicksPerSecond;

    public sealed record Parsed(List<ProviderStatus> Statuses, int Skipped, List<string> ErrorCodes, int OtherNumbers = 0);

    /// <summary>Null when the body is not the JSON object Meta sends.</summary>
    public static Parsed? Parse(byte[] body, string phoneNumberId)
    {
        if (JsonBody.ParseAllowingUnreadableText(body) is not { } document)
        {
            return null;
        }

        using (document)
        {
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object || !root.TryGetProperty("entry", out var entries) ||
                entries.ValueKind != JsonValueKind.Array)
            {
                return null;
            }

            var parsed = new Parsed([], 0, []);
            var skipped = 0;
            var otherNumbers = 0;
            foreach (var value in entries.EnumerateArray().SelectMany(Changes))
            {
                if (value.TryGetProperty("errors", out var errors) && errors.ValueKind == JsonValueKind.Array)
                {
                    // Only the codes: Meta's texts may carry a number or a message's content (SPEC §9.1).
                    parsed.ErrorCodes.AddRange(errors.EnumerateArray().Select(ErrorCode));
                }

                if (!value.TryGetProperty("statuses", out var statuses) || statuses.ValueKind != JsonValueKind.Array)
                {
                    continue;
                }

                if (!IsOurs(value, phoneNumberId))
                {
                    otherNumbers += statuses.GetArrayLength();
                    continue;
                }

                foreach (var status in statuses.EnumerateArray())
                {
                    if (ToEvent(status) is { } received)
                    {
                        parsed.Statuses.Add(received);
                    }
                    else if (!IsUntrackedKind(status))
                    {
                        skipped++;
                    }
                }
            }

            return parsed with { Skipped = skipped, OtherNumbers = otherNumbers };
        }
    }

    private static IEnumerable<JsonElement> Changes(JsonElement entry) =>
        entry.ValueKind == JsonValueKind.Object && entry.TryGetProperty("changes", out var changes) &&
        changes.ValueKind == JsonValueKind.Array
            ? changes.EnumerateArray()
                .Where(c => c.ValueKind == JsonValueKind.Object && c.TryGetProperty("value", out var v) && v.ValueKind == JsonValueKind.Object)
                .Select(c => c.GetProperty("value"))
            : [];

    private static bool IsOurs(JsonElement value, string phoneNumberId) =>
        value.TryGetProperty("metadata", out var metadata) && metadata.ValueKind == JsonValueKind.Object &&
        metadata.TryGetProperty("phone_number_id", out var id) && id.ReadableString() == phoneNumberId;

    private static bool IsUntrackedKind(JsonElement status) =>
        status.ValueKind == JsonValueKind.Object && status.TryGetProperty("status", out var kind) &&
        kind.ReadableString() is { } name && !TrackedStatuses.Contains(name);

    private static ProviderStatus? ToEvent(JsonElement status)
    {
        if (status.ValueKind != JsonValueKind.Object ||
            !TryGetString(status, "id", out var id) || id.Length > MaxProviderIdLength ||
            !TryGetString(status, "status", out var kind) || !TrackedStatuses.Contains(kind) ||
            !TryGetString(status, "timestamp", out var timestamp) ||
            !long.TryParse(timestamp, NumberStyles.None, CultureInfo.InvariantCulture, out var seconds) ||
            seconds > MaxUnixSeconds)
        {
            return null;
        }

        string? code = null, description = null;
        if (status.TryGetProperty("errors", out var errors) && errors.ValueKind == JsonValueKind.Array &&
            errors.GetArrayLength() > 0 && errors[0].ValueKind == JsonValueKind.Object)
        {
            var error = errors[0];
            // Meta's codes are numbers; a string one is taken as written, anything else is no code.
            code = error.TryGetProperty("code", out var c) && c.ValueKind switch
            {
                JsonValueKind.Number => c.GetRawText(),
                _ => c.ReadableString(),
            } is { Length: > 0 } text && !text.Contains('\0')
                ? text
                : null;
            var title = Text(error, "title");
            var message = Text(error, "message");
            var details = error.TryGetProperty("error_data", out var data) && data.ValueKind == JsonValueKind.Object
                ? Text(data, "details")
                : "";
            description = string.Join(": ", new[] { title, message == title ? "" : message, details }
                .Where(s => s.Length > 0).Distinct());
        }

        // Meta always gives a failure its errors; one without them still ends in an ERROR that says so (SPEC §4).
        if (kind == "failed")
        {
            code ??= "unknown";
            description = string.IsNullOrEmpty(description) ? "The provider reported the message failed and gave no reason" : description;
        }

        // Meta echoes what our send call carried; anything longer than it allows is not ours.
        var opaque = TryGetString(status, "biz_opaque_callback_data", out var echoed) && echoed.Length <= MaxOpaqueDataLength
            ? echoed
            : null;
        return new ProviderStatus(id, kind, DateTime.UnixEpoch.AddSeconds(seconds), code, description, opaque);
    }

    /// <summary>The error's numeric code as Meta wrote it, or <c>unknown</c>.</summary>
    private static string ErrorCode(JsonElement error) =>
        error.ValueKind == JsonValueKind.Object && error.TryGetProperty("code", out var code) &&
        code.ValueKind == JsonValueKind.Number
            ? code.GetRawText()
            : "unknown";

    /// <summary>Words for people: a string property without the NULs PostgreSQL cannot store, or empty.</summary>
    private static string Text(JsonElement element, string name) =>
        element.TryGetProperty(name, out var property) && property.ReadableString() is { } text
            ? text.Replace("\0", "", StringComparison.Ordinal)
            : "";

    /// <summary>A non-empty string property; one holding a NUL, which PostgreSQL cannot store, counts as absent.</summary>
    private static bool TryGetString(JsonElement element, string name, out string value)
    {
        value = element.TryGetProperty(name, out var property) && property.ReadableString() is { } text && !text.Contains('\0')
            ? text
            : "";
        return value.Length > 0;
    }
}
