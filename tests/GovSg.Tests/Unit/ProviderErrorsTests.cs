using GovSg.Dispatcher.Sending;

namespace GovSg.Tests.Unit;

public sealed class ProviderErrorsTests
{
    [TestCase(400, 130429, FailureKind.Throughput)]
    [TestCase(400, 4, FailureKind.Throughput)]
    [TestCase(400, 80007, FailureKind.Throughput)]
    // "Spam rate limit hit": Meta restricts what the number may send. A rate limit, so not permanent (SPEC §5).
    [TestCase(400, 131048, FailureKind.Throughput)]
    [TestCase(400, 131056, FailureKind.PairRate)]
    [TestCase(500, 131000, FailureKind.Transient)]
    [TestCase(400, 131000, FailureKind.Transient)]
    [TestCase(503, 131016, FailureKind.Transient)]
    [TestCase(400, 133004, FailureKind.Transient)]
    [TestCase(400, 131026, FailureKind.Permanent)]
    [TestCase(500, 131026, FailureKind.Permanent)]
    [TestCase(400, 100, FailureKind.Permanent)]
    [TestCase(400, 131008, FailureKind.Permanent)]
    [TestCase(400, 131009, FailureKind.Permanent)]
    [TestCase(400, 132000, FailureKind.Permanent)]
    [TestCase(404, 132001, FailureKind.Permanent)]
    [TestCase(400, 132005, FailureKind.Permanent)]
    [TestCase(400, 132007, FailureKind.Permanent)]
    [TestCase(400, 132012, FailureKind.Permanent)]
    [TestCase(400, 132015, FailureKind.Permanent)]
    [TestCase(400, 132016, FailureKind.Permanent)]
    [TestCase(400, 132018, FailureKind.Permanent)]
    [TestCase(401, 190, FailureKind.CredentialsBroken)]
    [TestCase(400, 190, FailureKind.CredentialsBroken)]
    [TestCase(403, 131031, FailureKind.CredentialsBroken)]
    // "Business eligibility payment issue": our account's billing, not the message; its messages are kept (SPEC §5).
    [TestCase(400, 131042, FailureKind.CredentialsBroken)]
    [TestCase(403, 200, FailureKind.CredentialsBroken)]
    [TestCase(400, 999999, FailureKind.Permanent)]
    [TestCase(500, 999999, FailureKind.Transient)]
    public void Classify_ByCodeFirst_ThenByHttpStatus(int status, int code, FailureKind expected) =>
        Assert.That(ProviderErrors.Classify(status, code), Is.EqualTo(expected));

    // 100/33: our sender number cannot be loaded (a wrong id, or permissions lost); other subcodes of 100 are the message's.
    [TestCase(33, FailureKind.CredentialsBroken)]
    [TestCase(2494010, FailureKind.Permanent)]
    [TestCase(null, FailureKind.Permanent)]
    public void Classify_InvalidParameter_BySubcode(int? subcode, FailureKind expected) =>
        Assert.That(ProviderErrors.Classify(400, 100, subcode), Is.EqualTo(expected));

    [TestCase(401, FailureKind.CredentialsBroken)]
    [TestCase(403, FailureKind.CredentialsBroken)]
    [TestCase(429, FailureKind.Throughput)]
    [TestCase(500, FailureKind.Transient)]
    [TestCase(502, FailureKind.Transient)]
    [TestCase(404, FailureKind.Permanent)]
    [TestCase(422, FailureKind.Permanent)]
    public void Classify_WithoutACode_UsesTheHttpStatus(int status, FailureKind expected) =>
        Assert.That(ProviderErrors.Classify(status, null), Is.EqualTo(expected));
}
