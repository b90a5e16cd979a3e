using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using GovSg.Api.Messages;
using Microsoft.AspNetCore.Http;

namespace GovSg.Tests.Unit;

public sealed class IdempotencyTests
{
    [Test]
    public void Fingerprint_IgnoresKeyOrderAndWhitespace() =>
        Assert.That(Fingerprint("""{"a":1,"b":{"y":"2","x":"1"}}"""),
            Is.EqualTo(Fingerprint("""{ "b" : { "x":"1", "y":"2" }, "a" : 1 }""")));

    [Test]
    public void Fingerprint_ReadsEscapesAsTheCharactersTheyStandFor() =>
        Assert.That(Fingerprint("""{"recipient":"9123\u0034567","params":{"n":"a\/b"}}"""),
            Is.EqualTo(Fingerprint("""{"recipient":"91234567","params":{"n":"a/b"}}""")));

    [Test]
    public void Fingerprint_WhenAKeyIsRepeated_ReadsItsLastValue()
    {
        // The send reads the last value (as the old API's JSON.parse did), so the fingerprint must: otherwise a retry with
        // the first value would replay a message sent with the second.
        var repeated = Fingerprint("""{"recipient":"91234567","template_id":3,"template_id":4}""");

        Assert.That(repeated, Is.EqualTo(Fingerprint("""{"recipient":"91234567","template_id":4}""")));
        Assert.That(repeated, Is.Not.EqualTo(Fingerprint("""{"recipient":"91234567","template_id":3}""")));
    }

    [Test]
    public void Fingerprint_TellsANumberFromAString() =>
        Assert.That(Fingerprint("""{"template_id":1}"""), Is.Not.EqualTo(Fingerprint("""{"template_id":"1"}""")));

    [Test]
    public void Fingerprint_TellsDifferentValuesApart() =>
        Assert.That(Fingerprint("""{"params":{"a":"x"}}"""), Is.Not.EqualTo(Fingerprint("""{"params":{"a":"y"}}""")));

    // SPEC §3.2: "the same key from the same user within 24 h returns the message's current state". A key stored before
    // numbers were compared by value holds the SHA-256 of the canonical text with each number as written, which for a body
    // already in canonical form is the body's own bytes. A retry of those very bytes after the upgrade must still match
    // it, not answer 422 idempotency_mismatch, also for a number written another way (Python's 3.0, Java's BigDecimal
    // 12.50) or an integer past 2^53.
    [TestCase("""{"recipient":"91234567","template_id":3}""")]
    [TestCase("""{"recipient":"91234567","template_id":3.0}""")]
    [TestCase("""{"messages":[{"params":{"amount":12.50},"recipient":"91234567","template_id":3}]}""")]
    [TestCase("""{"messages":[{"params":{"reference":12345678901234567},"recipient":"91234567","template_id":3}]}""")]
    public void Fingerprint_OfABodyStoredBeforeNumbersWereComparedByValue_StillMatchesARetryOfTheSameBytes(string json) =>
        Assert.That(Idempotency.Fingerprint(JsonDocument.Parse(json).RootElement).Matches(SHA256.HashData(Encoding.UTF8.GetBytes(json))));

    [Test]
    public void Fingerprint_ComparesNumbersByValue() =>
        Assert.That(Fingerprint("""{"template_id":3,"params":{"a":[12.5]}}"""),
            Is.EqualTo(Fingerprint("""{"template_id":3.0,"params":{"a":[1.250e1]}}""")));

    // SPEC §3.2: bodies are "compared after parsing", and this Api's own parsing tells these two apart: template_id 2 is
    // sent, 2.0000000000000001 is refused ("template_id" must be an integer; SendRequest reads numbers exactly). As
    // doubles they are one number, so a batch whose item was rejected for the second replays that rejection, under the
    // same key, to the batch retried with the item corrected (its message is never sent), and a single send replays a
    // message to a body it would refuse, where both should answer 422 idempotency_mismatch.
    [Test]
    public void Fingerprint_TellsApartNumbersTheSendChecksReadDifferently()
    {
        const string sent = """{"recipient":"91234567","template_id":2}""";
        const string refused = """{"recipient":"91234567","template_id":2.0000000000000001}""";
        Assert.That(SendRequest.TryParse(JsonDocument.Parse(sent).RootElement, out _), Is.Null);
        Assert.That(SendRequest.TryParse(JsonDocument.Parse(refused).RootElement, out _)?.Body.Message,
            Is.EqualTo("\"template_id\" must be an integer"));

        Assert.That(Fingerprint(sent), Is.Not.EqualTo(Fingerprint(refused)));
    }

    [TestCase("k", true)]
    [TestCase("order-2024-0001_retry:1", true)]
    [TestCase("", false)]
    [TestCase("has space", false)]
    [TestCase("tab\tkey", false)]
    [TestCase("ünïcode", false)]
    public void IsValidKey_AllowsOneTo255VisibleAsciiCharacters(string key, bool valid) =>
        Assert.That(Idempotency.IsValidKey(key), Is.EqualTo(valid));

    [Test]
    public void IsValidKey_RefusesMoreThan255Characters()
    {
        Assert.That(Idempotency.IsValidKey(new string('k', 255)), Is.True);
        Assert.That(Idempotency.IsValidKey(new string('k', 256)), Is.False);
    }

    [Test]
    public void Fingerprint_IsTheHashOfTheCanonicalText()
    {
        // Stored with each key for 24 h: a change of the canonical form would turn every retry across an upgrade into
        // a 422 idempotency_mismatch.
        var canonical = SHA256.HashData(Encoding.UTF8.GetBytes("""{"params":{"a":"x"},"template_id":3}"""));

        Assert.That(Fingerprint("""{ "template_id" : 3.00, "params" : { "a" : "x" } }"""), Is.EqualTo(canonical));
    }

    [Test]
    public void ReadKey_TakesOneHeader_AndRefusesTwo()
    {
        var one = new DefaultHttpContext().Request;
        one.Headers[Idempotency.HeaderName] = "k-1";
        var two = new DefaultHttpContext().Request;
        two.Headers[Idempotency.HeaderName] = new Microsoft.Extensions.Primitives.StringValues(["k-1", "k-2"]);

        Assert.That(Idempotency.ReadKey(one, out var key), Is.Null);
        Assert.That(key, Is.EqualTo("k-1"));
        Assert.That(Idempotency.ReadKey(new DefaultHttpContext().Request, out var none), Is.Null);
        Assert.That(none, Is.Null);
        Assert.That(Idempotency.ReadKey(two, out var neither)?.Body,
            Is.EqualTo(new GovSg.Api.Http.ErrorBody("api_validation", "\"Idempotency-Key\" must be sent once")));
        Assert.That(neither, Is.Null);
    }

    [Test]
    public void InvalidKey_SaysWhatAKeyMayBe() =>
        Assert.That(Idempotency.InvalidKey().Body,
            Is.EqualTo(new GovSg.Api.Http.ErrorBody("api_validation", "\"Idempotency-Key\" must be 1 to 255 visible ASCII characters")));

    private static byte[] Fingerprint(string json) => Idempotency.Fingerprint(JsonDocument.Parse(json).RootElement).Hash;
}
