using GovSg.Api.Messages;
using NUnit.Framework;

namespace GovSg.Tests.Unit;

/// <summary>SPEC §3.6: a Singapore mobile first (final), then libphonenumber for Singapore, then as international.</summary>
public class RecipientNormalizerTests
{
    [TestCase("91234567", "+6591234567")]
    [TestCase("81234567", "+6581234567")]
    public void Normalize_WhenSingaporeLocalNumber_AddsCountryCode(string raw, string expected)
    {
        Assert.That(RecipientNormalizer.Normalize(raw), Is.EqualTo(expected));
    }

    [TestCase("80001234", "+6580001234")]
    [TestCase("+6599991234", "+6599991234")]
    public void Normalize_WhenSingaporeMobileOutsideLibphonenumberRanges_AcceptsAsTheRuleIsFinal(string raw, string expected)
    {
        Assert.That(RecipientNormalizer.Normalize(raw), Is.EqualTo(expected));
    }

    [TestCase("6591234567", "+6591234567")]
    [TestCase("+6591234567", "+6591234567")]
    [TestCase("+6581234567", "+6581234567")]
    public void Normalize_WhenSingaporeNumberHasCountryCode_ReturnsSameNumber(string raw, string expected)
    {
        Assert.That(RecipientNormalizer.Normalize(raw), Is.EqualTo(expected));
    }

    [TestCase("14128018888", "+14128018888")]
    [TestCase("+14128018888", "+14128018888")]
    [TestCase("+447911123456", "+447911123456")]
    [TestCase("447911123456", "+447911123456")]
    [TestCase("+4915112345678", "+4915112345678")]
    public void Normalize_WhenForeignNumberHasCountryCode_ReturnsE164(string raw, string expected)
    {
        Assert.That(RecipientNormalizer.Normalize(raw), Is.EqualTo(expected));
    }

    [TestCase("+65 9123-4567", "+6591234567")]
    [TestCase("(65) 8123.4567", "+6581234567")]
    [TestCase("9123 4567", "+6591234567")]
    [TestCase("  91234567  ", "+6591234567")]
    [TestCase(" +65 9123 4567 ", "+6591234567")]
    [TestCase("(+65) 9123-4567", "+6591234567")]
    [TestCase("+1 (412) 801-8888", "+14128018888")]
    [TestCase("+44 7911 123.456", "+447911123456")]
    [TestCase("001 65 9123 4567", "+6591234567")]
    public void Normalize_WhenFormatted_StripsSeparators(string raw, string expected)
    {
        Assert.That(RecipientNormalizer.Normalize(raw), Is.EqualTo(expected));
    }

    [Test]
    public void Normalize_WhenFifteenDigits_Accepts()
    {
        Assert.That(RecipientNormalizer.Normalize("+436641234567890"), Is.EqualTo("+436641234567890"));
    }

    [TestCase("11234567", Description = "8 digits not starting 8/9, and too short for +1")]
    [TestCase("9123456", Description = "7 digits")]
    [TestCase("912345678", Description = "9 digits")]
    [TestCase("4128018888", Description = "reads as Swiss, too short for Switzerland")]
    [TestCase("+6561234567", Description = "Singapore landline")]
    [TestCase("001 65 6123 4567", Description = "Singapore landline dialled from abroad")]
    [TestCase("+65 65 9123 4567", Description = "Singapore's code twice")]
    [TestCase("001 65 65 9123 4567", Description = "Singapore's code twice, dialled from abroad")]
    [TestCase("6561234567", Description = "Singapore landline without plus")]
    [TestCase("+6571234567", Description = "Singapore number not starting 8/9")]
    [TestCase("65912345678", Description = "Singapore code with 9 national digits")]
    [TestCase("+659123456", Description = "Singapore code with 7 national digits")]
    [TestCase("+91234567", Description = "plus rules out the Singapore local reading")]
    [TestCase("test@test.com", Description = "not a number")]
    [TestCase("", Description = "empty")]
    [TestCase("   ", Description = "only separators")]
    [TestCase("+", Description = "plus without digits")]
    [TestCase("1412801888812345", Description = "16 digits")]
    [TestCase("+4366412345678901", Description = "16 digits with plus")]
    [TestCase("+65+91234567", Description = "second plus inside")]
    [TestCase("++6591234567", Description = "doubled leading plus")]
    [TestCase("6591234567+", Description = "trailing plus")]
    [TestCase("9123abcd", Description = "letters")]
    [TestCase("+6591234567x", Description = "trailing letter")]
    [TestCase("\t91234567", Description = "tab is not an allowed separator")]
    [TestCase("91234567/", Description = "slash is not an allowed separator")]
    [TestCase("91234567\n", Description = "a final line break, which a regex's $ would let through")]
    [TestCase("+6591234567\n", Description = "a final line break after a Singapore number with its code")]
    [TestCase("14128018888\n", Description = "a final line break after a foreign number")]
    [TestCase("+99912345678", Description = "unassigned calling code")]
    [TestCase("+11234567890", Description = "valid length, but no North American area code starts with 1")]
    [TestCase("61234567", Description = "Singapore landline, bare")]
    [TestCase("+079123456789", Description = "leading zero must not be read as code 7")]
    [TestCase("+4179123456", Description = "Swiss code, national part too short")]
    public void Normalize_WhenInvalid_ReturnsNull(string raw)
    {
        Assert.That(RecipientNormalizer.Normalize(raw), Is.Null);
    }

    [Test]
    public void Normalize_WhenNull_ReturnsNull()
    {
        Assert.That(RecipientNormalizer.Normalize(null!), Is.Null);
    }
}
