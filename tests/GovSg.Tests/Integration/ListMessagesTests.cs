using System.Globalization;
using System.Net;
using System.Text.Json;
using Dapper;

namespace GovSg.Tests.Integration;

/// <summary>GET /v1/transactional/govsg with the old API's semantics (SPEC §3.4), over 15 messages with known times.</summary>
public sealed class ListMessagesTests
{
    private const string ListPath = "v1/transactional/govsg";

    // Message i (0..14) is created at Base + i minutes and last updated at Base + 1 day - i minutes, so the two sort
    // keys run in opposite directions; statuses cycle through READ, ERROR, ACCEPTED.
    private static readonly DateTime Base = new(2024, 3, 10, 8, 0, 0, DateTimeKind.Utc);
    private static readonly string[] StatusCycle = ["READ", "ERROR", "ACCEPTED"];

    private static TestSystem Env => TestEnvironment.Current;

    private TestUser _user = null!;
    private long[] _ids = [];

    [OneTimeSetUp]
    public async Task SeedAsync()
    {
        _user = await Env.CreateUserAsync();
        await using var connection = await Env.Database.OpenConnectionAsync();
        _ids = (await connection.QueryAsync<long>("""
            INSERT INTO messages (user_id, template_id, recipient, params, language_code, whatsapp_template_name, param_order,
                                  status, created_at, updated_at, expires_at, available_at, sweep_at)
            SELECT @userId, 3, '+6591234567', '{}', 'en_GB', 'govsg_service_notice_v1', '{}',
                   (@statuses::text[])[i % 3 + 1]::message_status,
                   @base + make_interval(mins => i), @base + interval '1 day' - make_interval(mins => i),
                   @base + interval '2 days', @base, @base + interval '2 days'
            FROM generate_series(0, 14) AS i
            ORDER BY i
            RETURNING id
            """, new { userId = _user.Id, statuses = StatusCycle, @base = Base })).ToArray();
        // Another user's messages in the same time range must never appear.
        var other = await Env.CreateUserAsync();
        await connection.ExecuteAsync("""
            INSERT INTO messages (user_id, template_id, recipient, params, language_code, whatsapp_template_name, param_order,
                                  status, created_at, updated_at, expires_at, available_at, sweep_at)
            SELECT @userId, 3, '+6591234567', '{}', 'en_GB', 'x', '{}', 'READ', @base + make_interval(mins => i),
                   @base + make_interval(mins => i), @base, @base, @base
            FROM generate_series(0, 14) AS i
            """, new { userId = other.Id, @base = Base });
    }

    [TestCase("", 10, true)]
    [TestCase("?offset=10", 5, false)]
    [TestCase("?offset=15", 0, false)]
    [TestCase("?limit=5", 5, true)]
    [TestCase("?limit=15", 15, false)]
    [TestCase("?limit=1000", 15, false)]
    public async Task List_Pages_WithHasMoreWithoutCounting(string query, int count, bool hasMore)
    {
        var page = await ListAsync(query);

        Assert.That(page.GetProperty("data").GetArrayLength(), Is.EqualTo(count));
        Assert.That(page.GetProperty("has_more").GetBoolean(), Is.EqualTo(hasMore));
    }

    [Test]
    public async Task List_ByDefault_IsNewestFirstAndOnlyTheCallersMessages()
    {
        Assert.That(await IdsAsync("?limit=100"), Is.EqualTo(_ids.Reverse().ToArray()));
    }

    [TestCase("read", 5)]
    [TestCase("Error", 5)]
    [TestCase("ACCEPTED", 5)]
    [TestCase("sent", 0)]
    public async Task List_ByStatus_IsCaseInsensitive(string status, int count)
    {
        var page = await ListAsync($"?status={status}&limit=100");

        var statuses = page.GetProperty("data").EnumerateArray().Select(m => m.Str("status")).ToList();
        Assert.That(statuses, Has.Count.EqualTo(count));
        Assert.That(statuses, Is.All.EqualTo(status.ToUpperInvariant()));
    }

    [TestCase("created_at[gt]=2024-03-10T08:05:00Z", 6, 14)]
    [TestCase("created_at[gte]=2024-03-10T08:05:00Z", 5, 14)]
    [TestCase("created_at[lt]=2024-03-10T08:05:00Z", 0, 4)]
    [TestCase("created_at[lte]=2024-03-10T08:05:00Z", 0, 5)]
    [TestCase("created_at[gte]=2024-03-10T08:03:00Z&created_at[lt]=2024-03-10T08:07:00Z", 3, 6)]
    [TestCase("created_at[gt]=2024-03-10T16:02:00%2B08:00&created_at[lte]=2024-03-10T08:04:00.000Z", 3, 4)]
    [TestCase("created_at[gte]=2024-03-10", 0, 14)]
    [TestCase("created_at[lt]=2024-03-10", -1, -1)]
    [TestCase("created_at[gte]=2024-03-10T08:14:00", 14, 14)]
    [TestCase("created_at[gt]=2024-03-10T08:04:59.999999999Z", 5, 14)]
    [TestCase("created_at[gt]=2024-03-10T08:04:59,999Z", 5, 14)]
    [TestCase("created_at[lt]=2024-03-10T16:05%2B08", 0, 4)]
    public async Task List_ByCreatedAt_AppliesEveryOperatorAndAndsThem(string query, int first, int last)
    {
        var ids = await IdsAsync($"?{query}&limit=100&sort_by=%2Bcreated_at");

        var expected = first < 0 ? [] : _ids[first..(last + 1)];
        Assert.That(ids, Is.EqualTo(expected));
    }

    [TestCase("sort_by=created_at", false)]
    [TestCase("sort_by=-created_at", false)]
    [TestCase("sort_by=%2Bcreated_at", true)]
    [TestCase("sort_by=+created_at", true)]
    public async Task List_SortedByCreatedAt_FollowsTheDirection(string query, bool ascending)
    {
        var ids = await IdsAsync($"?{query}&limit=100");

        Assert.That(ids, Is.EqualTo(ascending ? _ids : _ids.Reverse().ToArray()));
    }

    [TestCase("sort_by=updated_at", true)]
    [TestCase("sort_by=-updated_at", true)]
    [TestCase("sort_by=%2Bupdated_at", false)]
    public async Task List_SortedByUpdatedAt_FollowsTheDirection(string query, bool idsAscending)
    {
        // updated_at runs opposite to creation here: newest update first is oldest creation first.
        var ids = await IdsAsync($"?{query}&limit=100");

        Assert.That(ids, Is.EqualTo(idsAscending ? _ids : _ids.Reverse().ToArray()));
    }

    [Test]
    public async Task List_WithStatusAscendingSortAndLimit_CombinesThem()
    {
        var page = await ListAsync("?status=error&sort_by=%2Bcreated_at&limit=3");

        var expected = _ids.Where((_, i) => i % 3 == 1).Take(3).ToArray();
        Assert.That(page.GetProperty("data").EnumerateArray().Select(m => long.Parse(m.Str("id"), CultureInfo.InvariantCulture)),
            Is.EqualTo(expected));
        Assert.That(page.GetProperty("has_more").GetBoolean(), Is.True);
    }

    [Test]
    public async Task List_WithTiesInTheSortKey_PagesStablyById()
    {
        var user = await Env.CreateUserAsync();
        await using (var connection = await Env.Database.OpenConnectionAsync())
        {
            await connection.ExecuteAsync("""
                INSERT INTO messages (user_id, template_id, recipient, params, language_code, whatsapp_template_name,
                                      param_order, created_at, updated_at, expires_at, available_at, sweep_at)
                SELECT @userId, 3, '+6591234567', '{}', 'en_GB', 'x', '{}', @at, @at, @at, @at, @at FROM generate_series(1, 7)
                """, new { userId = user.Id, at = Base });
        }

        var pages = new List<long>();
        for (var offset = 0; offset < 7; offset += 3)
        {
            var (_, page) = await MessageJson.GetAsync(user.Client, $"{ListPath}?limit=3&offset={offset}");
            pages.AddRange(page.GetProperty("data").EnumerateArray().Select(m => long.Parse(m.Str("id"), CultureInfo.InvariantCulture)));
        }

        Assert.That(pages, Is.Unique);
        Assert.That(pages, Is.Ordered.Descending);
        Assert.That(pages, Has.Count.EqualTo(7));
    }

    [TestCase("limit=invalid", "\"limit\" must be a number")]
    [TestCase("limit=0", "\"limit\" must be greater than or equal to 1")]
    [TestCase("limit=1001", "\"limit\" must be less than or equal to 1000")]
    [TestCase("offset=-1", "\"offset\" must be greater than or equal to 0")]
    [TestCase("offset=x", "\"offset\" must be a number")]
    [TestCase("offset=100001", "\"offset\" must be less than or equal to 100000; to page further back, filter on created_at instead")]
    [TestCase("status=blacksheep", "\"status\" must be one of [UNSENT, ACCEPTED, SENT, DELIVERED, READ, ERROR]")]
    [TestCase("status=READ&status=ERROR", "\"status\" must not be repeated")]
    [TestCase("created_at=x", "\"created_at\" is not allowed")]
    [TestCase("created_at[gte]=20200101", "\"created_at[gte]\" must be in ISO 8601 date format")]
    [TestCase("created_at[gte]=2020-01-01&created_at[gte]=2020-02-01", "\"created_at[gte]\" must not be repeated")]
    [TestCase("created_at[lt]=yesterday", "\"created_at[lt]\" must be in ISO 8601 date format")]
    [TestCase("created_at[gt]=2020-13-45", "\"created_at[gt]\" must be in ISO 8601 date format")]
    [TestCase("sort_by=*created_at", "\"sort_by\" must be one of [created_at, +created_at, -created_at, updated_at, +updated_at, -updated_at]")]
    [TestCase("sort_by=created_atx", "\"sort_by\" must be one of [created_at, +created_at, -created_at, updated_at, +updated_at, -updated_at]")]
    [TestCase("sort_by=created_at&sort_by=updated_at", "\"sort_by\" must not be repeated")]
    [TestCase("page=2", "\"page\" is not allowed")]
    [TestCase("limit=99999999999", "\"limit\" must be less than or equal to 1000")]
    [TestCase("offset=-99999999999", "\"offset\" must be greater than or equal to 0")]
    [TestCase("limit=5%00", "\"limit\" must be a number")]
    [TestCase("limit=%D9%A5", "\"limit\" must be a number")]
    [TestCase("sort_by=created_at%0A", "\"sort_by\" must be one of [created_at, +created_at, -created_at, updated_at, +updated_at, -updated_at]")]
    [TestCase("created_at[gte]=2024-03-10%0A", "\"created_at[gte]\" must be in ISO 8601 date format")]
    [TestCase("created_at[gte]=2024-03-10Z", "\"created_at[gte]\" must be in ISO 8601 date format")]
    [TestCase("created_at[gte]=2024-03-10T08:05.5Z", "\"created_at[gte]\" must be in ISO 8601 date format")]
    [TestCase("created_at[gte]=2024-03-10T08:05:00,Z", "\"created_at[gte]\" must be in ISO 8601 date format")]
    public async Task List_WhenAParameterIsBad_Answers400(string query, string message)
    {
        var (response, error) = await MessageJson.GetAsync(_user.Client, $"{ListPath}?{query}");

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest));
        Assert.That(error.Str("code"), Is.EqualTo("api_validation"));
        Assert.That(error.Str("message"), Is.EqualTo(message));
    }

    // SPEC §3.1: "Nothing else ever reaches a client: ... no empty 4xx bodies"; §8: "Bad input of any kind gets a 4xx
    // with the envelope".
    [Test]
    public async Task List_WithAnOverlongQuery_AnswersInTheEnvelope()
    {
        using var response = await _user.Client.GetAsync($"{ListPath}?status={new string('x', 9000)}");
        var text = await response.Content.ReadAsStringAsync();

        Assert.That((int)response.StatusCode, Is.InRange(400, 499));
        Assert.That(text, Does.StartWith("""{"code":"""), $"HTTP {(int)response.StatusCode} answered '{text}'");
    }

    // SPEC §3: "Agency request bodies over 64 KiB are rejected (413)"; SECURITY.md: "a route that takes no body still
    // reads one up to the cap, chunked too, and refuses it beyond, before acting".
    [TestCase("v1/transactional/govsg", false)]
    [TestCase("v1/transactional/govsg", true)]
    [TestCase("v1/govsg/templates", false)]
    [TestCase("v1/api-keys", true)]
    [TestCase("v1/callback-settings", false)]
    public async Task Read_WithABodyOver64KiB_Answers413(string path, bool chunked)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, path)
        {
            Content = new StringContent(new string('x', 64 * 1024 + 1), System.Text.Encoding.UTF8, "application/json"),
        };
        request.Headers.TransferEncodingChunked = chunked;

        var (response, body) = await MessageJson.SendAsync(_user.Client, request);

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.RequestEntityTooLarge), body.ToString());
        Assert.That(body.Str("code"), Is.EqualTo("payload_too_large"));
    }

    private async Task<JsonElement> ListAsync(string query)
    {
        var (response, page) = await MessageJson.GetAsync(_user.Client, ListPath + query);
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK), page.ToString());
        return page;
    }

    private async Task<long[]> IdsAsync(string query) =>
        (await ListAsync(query)).GetProperty("data").EnumerateArray()
        .Select(m => long.Parse(m.Str("id"), CultureInfo.InvariantCulture)).ToArray();
}
