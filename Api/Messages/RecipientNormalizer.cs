using System.Text.RegularExpressions;
using PhoneNumbers;

namespace GovSg.Api.Messages;

/// <summary>
/// Turns a user-supplied recipient phone number into E.164 (<c>+</c> followed by digits), or rejects it, in the old
/// service's order (SPEC §3.6): a Singapore mobile first, then libphonenumber with Singapore as the default region,
/// then libphonenumber reading the digits as international.
/// </summary>
public static partial class RecipientNormalizer
{
    private const int SingaporeCode = 65;

    /// <summary>
    /// Returns the number in E.164 form, or <see langword="null"/> when it is not a valid mobile recipient.
    /// </summary>
    public static string? Normalize(string raw)
    {
        // The shape checks refuse a missing recipient before this; null still means "not valid", never an exception.
        if (raw is null)
        {
            return null;
        }

        var number = Separators().Replace(raw, "");
        if (!Digits().IsMatch(number))
        {
            return null;
        }

        // Final, and not re-checked: libphonenumber does not know every range agencies and test keys use.
        if (SingaporeMobile().Match(number) is { Success: true } mobile)
        {
            return "+65" + mobile.Groups["national"].Value;
        }

        return Valid(number, "SG") ?? (number[0] == '+' ? null : Valid("+" + number, null));
    }

    /// <summary>
    /// A number libphonenumber calls valid, in E.164. One with Singapore's code must be a Singapore mobile by the rule
    /// above, as when it is dialled from abroad (<c>001 65 9123 4567</c>): WhatsApp needs a mobile.
    /// </summary>
    private static string? Valid(string number, string? defaultRegion)
    {
        try
        {
            var phones = Library.Phones;
            var parsed = phones.Parse(number, defaultRegion);
            if (parsed.CountryCode == SingaporeCode)
            {
                var national = phones.GetNationalSignificantNumber(parsed);
                return SingaporeMobileNational().IsMatch(national) ? "+65" + national : null;
            }

            return phones.IsValidNumber(parsed) ? phones.Format(parsed, PhoneNumberFormat.E164) : null;
        }
        catch (NumberParseException)
        {
            return null;
        }
    }

    /// <summary>
    /// Loading libphonenumber's metadata takes a noticeable moment: only the first non-Singapore-mobile recipient pays
    /// it, not the first send of every replica.
    /// </summary>
    private static class Library
    {
        public static readonly PhoneNumberUtil Phones = PhoneNumberUtil.GetInstance();
    }

    [GeneratedRegex(@"[ .()\-]")]
    private static partial Regex Separators();

    [GeneratedRegex(@"\A\+?[0-9]+\z")]
    private static partial Regex Digits();

    [GeneratedRegex(@"\A(?:\+?65)?(?<national>[89][0-9]{7})\z")]
    private static partial Regex SingaporeMobile();

    [GeneratedRegex(@"\A[89][0-9]{7}\z")]
    private static partial Regex SingaporeMobileNational();
}
