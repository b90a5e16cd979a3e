using System.Net.Http.Json;
using System.Text.Json;

namespace GovSg.Tests.Integration;

/// <summary>Small helpers to talk to the Api the way an agency would: raw JSON in, parsed JSON out.</summary>
public static class MessageJson
{
    public const string SendPath = "v1/transactional/govsg/send";

    public static object OfficerCall(string recipient, string? language = null) => new Dictionary<string, object?>
    {
        ["recipient"] = recipient,
        ["template_id"] = 1,
        ["params"] = new Dictionary<string, string>
        {
            ["recipient_name"] = "Stanley Nguyen",
            ["officer_name"] = "John Tan",
            ["officer_designation"] = "Reception Officer",
            ["agency"] = "Open Government Products",
            ["topic"] = "document collection",
            ["timeslot"] = "1-3PM",
        },
        ["language_code"] = language ?? "en_GB",
    };

    public static async Task<(HttpResponseMessage Response, JsonElement Body)> PostAsync(HttpClient client, object body,
        Action<HttpRequestMessage>? configure = null)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, SendPath) { Content = JsonContent.Create(body) };
        configure?.Invoke(request);
        return await SendAsync(client, request);
    }

    public static async Task<(HttpResponseMessage Response, JsonElement Body)> PostRawAsync(HttpClient client, string body,
        string contentType = "application/json")
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, SendPath)
        {
            Content = new StringContent(body, System.Text.Encoding.UTF8, contentType),
        };
        return await SendAsync(client, request);
    }

    public static async Task<(HttpResponseMessage Response, JsonElement Body)> GetAsync(HttpClient client, string path)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, path);
        return await SendAsync(client, request);
    }

    public static async Task<JsonElement> GetMessageAsync(HttpClient client, string id) =>
        (await GetAsync(client, $"v1/transactional/govsg/{id}")).Body;

    /// <summary>Polls the message until its status is one of <paramref name="statuses"/> (or the deadline passes).</summary>
    public static Task<JsonElement> WaitForStatusAsync(HttpClient client, string id, params string[] statuses) =>
        Poll.UntilAsync(() => GetMessageAsync(client, id), m => statuses.Contains(m.GetProperty("status").GetString()));

    public static async Task<(HttpResponseMessage Response, JsonElement Body)> SendAsync(HttpClient client, HttpRequestMessage request)
    {
        var response = await client.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        var body = text.Length == 0 ? default : JsonDocument.Parse(text).RootElement.Clone();
        return (response, body);
    }

    public static string Str(this JsonElement element, string property) =>
        element.GetProperty(property).ValueKind == JsonValueKind.Null ? "" : element.GetProperty(property).ToString();
}
