using System.Text.Json;
using GovSg.Api.Messages;

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
    public void Fingerprint_TellsANumberFromAString() =>
        Assert.That(Fingerprint("""{"template_id":1}"""), Is.Not.EqualTo(Fingerprint("""{"template_id":"1"}""")));

    [Test]
    public void Fingerprint_TellsDifferentValuesApart() =>
        Assert.That(Fingerprint("""{"params":{"a":"x"}}"""), Is.Not.EqualTo(Fingerprint("""{"params":{"a":"y"}}""")));

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

    private static byte[] Fingerprint(string json) => Idempotency.Fingerprint(JsonDocument.Parse(json).RootElement);
}
