using System.Text;
using GovSg.Api.Auth;

namespace GovSg.Tests.Unit;

public sealed class ApiKeysTests
{
    private static readonly byte[] Pepper = Encoding.UTF8.GetBytes("a-pepper-of-at-least-thirty-two-characters");

    [Test]
    public void Generate_ThenParse_GivesBackTheKeyIdAndAMatchingSecret()
    {
        var (plainText, keyId, hash) = ApiKeys.Generate(Pepper);

        Assert.That(ApiKeys.TryParse(plainText, out var parsedId, out var secret), Is.True);
        Assert.That(parsedId, Is.EqualTo(keyId));
        Assert.That(ApiKeys.Matches(Pepper, secret, hash), Is.True);
    }

    [Test]
    public void Matches_WithAnotherPepper_Fails()
    {
        var (plainText, _, hash) = ApiKeys.Generate(Pepper);
        Assert.That(ApiKeys.TryParse(plainText, out _, out var secret), Is.True);

        Assert.That(ApiKeys.Matches(Encoding.UTF8.GetBytes("another-pepper-of-thirty-two-characters!"), secret, hash), Is.False);
    }

    [Test]
    public void Generate_StoresOnlyAHash_NotTheSecret()
    {
        var (plainText, _, hash) = ApiKeys.Generate(Pepper);

        Assert.That(Encoding.ASCII.GetString(hash), Does.Not.Contain(plainText[21..]));
        Assert.That(hash, Has.Length.EqualTo(32));
    }

    [TestCase("")]
    [TestCase("gsg_")]
    [TestCase("sk_live_0123456789abcdef_0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef")]
    [TestCase("gsg_0123456789ABCDEF_0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef")]
    [TestCase("gsg_0123456789abcdef-0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef")]
    [TestCase("gsg_0123456789abcdef_0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcde")]
    public void TryParse_WhenNotOurFormat_Fails(string key) =>
        Assert.That(ApiKeys.TryParse(key, out _, out _), Is.False);

    [TestCase("0123456789abcdef", true)]
    [TestCase("0123456789abcde", false)]
    [TestCase("0123456789abcdef0", false)]
    [TestCase("0123456789ABCDEF", false)]
    [TestCase("0123456789abcdeg", false)]
    public void IsKeyId_IsSixteenLowercaseHexDigits(string value, bool isKeyId) =>
        Assert.That(ApiKeys.IsKeyId(value), Is.EqualTo(isKeyId));
}
