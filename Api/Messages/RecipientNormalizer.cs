using System.Globalization;

namespace GovSg.Api.Messages;

/// <summary>
/// Turns a user-supplied recipient phone number into E.164 (<c>+</c> followed by digits), or rejects it.
/// </summary>
public static class RecipientNormalizer
{
    private const string TableResourceName = "GovSg.Api.Messages.calling-codes.csv";
    private const string TableHeader = "calling_code,regions,national_lengths";

    // E.164 caps a full international number at 15 digits, calling code included.
    private const int MaxDigits = 15;
    private const int SingaporeCode = 65;
    private const int SingaporeMobileLength = 8;

    // Indexed by calling code; bit n is set when n is a valid national length. Zero marks an unassigned code.
    // A static readonly field gives lazy, thread-safe, once-only loading through the type initialiser.
    private static readonly ushort[] NationalLengthsByCode = LoadTable();

    /// <summary>
    /// Returns the number in E.164 form, or <see langword="null"/> when it is not a valid mobile recipient.
    /// </summary>
    public static string? Normalize(string raw)
    {
        // Model binding can leave a non-nullable string null when the field is missing; that is bad input, not a bug.
        if (raw is null)
        {
            return null;
        }

        Span<char> digits = stackalloc char[MaxDigits];
        var count = 0;
        var hasPlus = false;
        foreach (var c in raw)
        {
            if (c is >= '0' and <= '9')
            {
                if (count == MaxDigits)
                {
                    return null;
                }

                digits[count++] = c;
            }
            else if (c == '+' && count == 0 && !hasPlus)
            {
                hasPlus = true;
            }
            else if (c is not (' ' or '-' or '.' or '(' or ')'))
            {
                return null;
            }
        }

        if (count == 0)
        {
            return null;
        }

        digits = digits[..count];

        // Only a bare number is read as Singaporean: with a '+' the caller has committed to a country code.
        if (!hasPlus && IsSingaporeMobile(digits))
        {
            return ToE164("65", digits);
        }

        return HasValidCallingCode(digits) ? ToE164("", digits) : null;
    }

    private static bool HasValidCallingCode(ReadOnlySpan<char> digits)
    {
        // Calling codes never start with 0, and this also keeps "07..." from being read as code 7 in the numeric index.
        if (digits[0] == '0')
        {
            return false;
        }

        var code = 0;
        var matchedCode = 0;
        var matchedLength = 0;
        for (var i = 0; i < 3 && i < digits.Length - 1; i++)
        {
            code = (code * 10) + (digits[i] - '0');
            if (NationalLengthsByCode[code] != 0)
            {
                matchedCode = code;
                matchedLength = i + 1;
            }
        }

        if (matchedCode == 0)
        {
            return false;
        }

        var national = digits[matchedLength..];
        if (matchedCode == SingaporeCode)
        {
            // WhatsApp needs a mobile, and Singapore's mobiles are exactly the 8-digit numbers starting 8 or 9.
            return IsSingaporeMobile(national);
        }

        return (NationalLengthsByCode[matchedCode] & (1 << national.Length)) != 0;
    }

    private static bool IsSingaporeMobile(ReadOnlySpan<char> national) =>
        national.Length == SingaporeMobileLength && national[0] is '8' or '9';

    private static string ToE164(string prefix, ReadOnlySpan<char> digits) => string.Concat("+", prefix, digits);

    private static ushort[] LoadTable()
    {
        using var stream = typeof(RecipientNormalizer).Assembly.GetManifestResourceStream(TableResourceName)
            ?? throw new InvalidOperationException($"Embedded resource '{TableResourceName}' is missing.");
        using var reader = new StreamReader(stream);

        var table = new ushort[1000];
        var headerSeen = false;
        while (reader.ReadLine() is { } line)
        {
            if (line.Length == 0 || line[0] == '#')
            {
                continue;
            }

            if (!headerSeen)
            {
                if (line != TableHeader)
                {
                    throw new InvalidOperationException($"'{TableResourceName}' has an unexpected header: '{line}'.");
                }

                headerSeen = true;
                continue;
            }

            var columns = line.Split(',');
            if (columns.Length != 3)
            {
                throw new InvalidOperationException($"'{TableResourceName}' has a malformed row: '{line}'.");
            }

            var code = ParseCode(columns[0], line);
            if (table[code] != 0)
            {
                throw new InvalidOperationException($"'{TableResourceName}' lists calling code {code} twice.");
            }

            table[code] = ParseLengths(columns[2], line);
        }

        if (!headerSeen)
        {
            throw new InvalidOperationException($"'{TableResourceName}' has no header row.");
        }

        return table;
    }

    private static int ParseCode(string column, string line)
    {
        var code = int.Parse(column, CultureInfo.InvariantCulture);
        if (code is < 1 or > 999)
        {
            throw new InvalidOperationException($"'{TableResourceName}' has an out-of-range calling code: '{line}'.");
        }

        return code;
    }

    private static ushort ParseLengths(string column, string line)
    {
        var mask = 0;
        foreach (var part in column.Split('|'))
        {
            var length = int.Parse(part, CultureInfo.InvariantCulture);
            if (length is < 1 or >= MaxDigits)
            {
                throw new InvalidOperationException($"'{TableResourceName}' has an out-of-range length: '{line}'.");
            }

            mask |= 1 << length;
        }

        return (ushort)mask;
    }
}
