using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace GovSg.Tests.Integration;

/// <summary>A provider status as a test writes it into a webhook.</summary>
public sealed record WebhookStatus(string ProviderId, string Status, DateTime Timestamp, int? ErrorCode = null,
    string? OpaqueData = null);

/// <summary>Builds and signs webhook bodies the way Meta does, and posts them to the Api.</summary>
public static class Webhooks
{
    public const string Path = "v1/callback/govsg";

    public static string Body(IEnumerable<WebhookStatus> statuses, string phoneNumberId = TestSettings.PhoneNumberId) =>
        JsonSerializer.Serialize(new
        {
            @object = "whatsapp_business_account",
            entry = new[]
            {
                new
                {
                    id = "102290129340398",
                    changes = new[]
                    {
                        new
                        {
                            field = "messages",
                            value = new
                            {
                                messaging_product = "whatsapp",
                                metadata = new { display_phone_number = "6581290065", phone_number_id = phoneNumberId },
                                statuses = statuses.Select(Status).ToArray(),
                            },
                        },
                    },
                },
            },
        });

    public static string Sign(string body, string secret = TestSettings.AppSecret) =>
        "sha256=" + Convert.ToHexStringLower(HMACSHA256.HashData(Encoding.UTF8.GetBytes(secret), Encoding.UTF8.GetBytes(body)));

    public static async Task<HttpResponseMessage> PostAsync(HttpClient client, string body, string? signature)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, Path)
        {
            Content = new StringContent(body, Encoding.UTF8, "application/json"),
        };
        if (signature is not null)
        {
            request.Headers.Add("X-Hub-Signature-256", signature);
        }

        return await client.SendAsync(request);
    }

    public static Task<HttpResponseMessage> PostSignedAsync(HttpClient client, IEnumerable<WebhookStatus> statuses)
    {
        var body = Body(statuses);
        return PostAsync(client, body, Sign(body));
    }

    private static Dictionary<string, object> Status(WebhookStatus status)
    {
        var wire = new Dictionary<string, object>
        {
            ["id"] = status.ProviderId,
            ["status"] = status.Status,
            ["timestamp"] = new DateTimeOffset(status.Timestamp).ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture),
            ["recipient_id"] = "6591234567",
        };
        if (status.ErrorCode is { } code)
        {
            wire["errors"] = new[]
            {
                new { code, title = "Message undeliverable", message = "Message undeliverable", error_data = new { details = "Message Undeliverable." } },
            };
        }

        if (status.OpaqueData is { } opaque)
        {
            wire["biz_opaque_callback_data"] = opaque;
        }

        return wire;
    }
}
