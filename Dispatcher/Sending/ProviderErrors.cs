using System.Security.Cryptography;
using System.Text;

namespace GovSg.Dispatcher.Sending;

/// <summary>Classifies a provider error by its <c>error.code</c> first and the HTTP status second (SPEC §5).</summary>
public static class ProviderErrors
{
    private static readonly HashSet<int> TransientCodes = [131000, 131016, 133004];
    // 131048 (spam rate limit hit): Meta restricts how much the number may send; a rate limit, so not permanent.
    private static readonly HashSet<int> ThroughputCodes = [130429, 4, 80007, 131048];

    // 131042 (business eligibility payment issue): our account's billing; every send fails until an operator fixes it.
    private static readonly HashSet<int> CredentialCodes = [190, 131031, 131042];

    // SPEC §5's permanent codes are permanent whatever HTTP status carries them.
    private static readonly HashSet<int> PermanentCodes =
        [131026, 100, 131008, 131009, 132000, 132001, 132005, 132007, 132012, 132015, 132016, 132018];
    private const int PairRateCode = 131056;

    // 100 with subcode 33: "Object with ID '<phone number id>' does not exist, cannot be loaded due to missing
    // permissions…". The object is our sender number: a wrong id or a lost grant, which fails every send alike until an
    // operator fixes it, so the messages are kept (SPEC §5: our account is broken), not ended as code 100's invalid
    // parameter would be.
    private const int InvalidParameterCode = 100;
    private const int ObjectNotAccessibleSubcode = 33;

    public static FailureKind Classify(int httpStatus, int? errorCode, int? errorSubcode = null)
    {
        if (errorCode is { } code)
        {
            if (code == InvalidParameterCode && errorSubcode == ObjectNotAccessibleSubcode)
            {
                return FailureKind.CredentialsBroken;
            }

            if (code == PairRateCode)
            {
                return FailureKind.PairRate;
            }

            if (ThroughputCodes.Contains(code))
            {
                return FailureKind.Throughput;
            }

            if (TransientCodes.Contains(code))
            {
                return FailureKind.Transient;
            }

            if (CredentialCodes.Contains(code))
            {
                return FailureKind.CredentialsBroken;
            }

            if (PermanentCodes.Contains(code))
            {
                return FailureKind.Permanent;
            }
        }

        return httpStatus switch
        {
            401 or 403 => FailureKind.CredentialsBroken,
            429 => FailureKind.Throughput,
            >= 500 => FailureKind.Transient,
            // Any other 4xx — 131026 undeliverable, template and parameter errors, unknown codes — will not get better.
            _ => FailureKind.Permanent,
        };
    }

    /// <summary>A recorded error (<c>"&lt;code&gt;: &lt;provider text&gt;"</c>) as logs may hold it: the code, and the text's fingerprint.</summary>
    public static string Redact(string error) => error.IndexOf(": ", StringComparison.Ordinal) is var colon and >= 0
        ? $"code {error[..colon]}, text {Fingerprint(error[(colon + 2)..])}"
        : $"text {Fingerprint(error)}";

    /// <summary>
    /// A short, stable stand-in for provider text in logs. Meta's error texts and message ids can carry the recipient's
    /// number or the params (SPEC §9.1), so logs hold this instead: equal texts give equal fingerprints.
    /// </summary>
    public static string Fingerprint(string text) =>
        Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text)))[..12];
}
