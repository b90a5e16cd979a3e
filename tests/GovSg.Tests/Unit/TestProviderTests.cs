using GovSg.Dispatcher.Sending;
using GovSg.Dispatcher.TestKeys;

namespace GovSg.Tests.Unit;

/// <summary>The simulated provider of test keys (SPEC §11.2) as tables: its answer to a send, and the receipt after each status.</summary>
public sealed class TestProviderTests
{
    private static readonly TestKeyOptions Options = new()
    {
        SentAfter = TimeSpan.FromSeconds(1),
        DeliveredAfter = TimeSpan.FromSeconds(2),
        ReadAfter = TimeSpan.FromSeconds(3),
    };

    [TestCase("+6591234567", 1, "wamid.test.42", null, null)]
    [TestCase("+6580000001", 1, "wamid.test.42", null, null)]
    [TestCase("+6580000004", 1, "wamid.test.42", null, null)]
    [TestCase("+6580000002", 1, null, "132015", FailureKind.Permanent)]
    [TestCase("+6580000003", 1, null, "131000", FailureKind.Transient)]
    [TestCase("+6580000003", 2, null, "131000", FailureKind.Transient)]
    [TestCase("+6580000003", 3, "wamid.test.42", null, null)]
    public void Send_AnswersAsTheRecipientSays(string recipient, int attempt, string? wamid, string? code, FailureKind? kind)
    {
        var outcome = TestProvider.Send(new ClaimedMessage { Id = 42, Recipient = recipient, Attempts = attempt, KeyType = "test" });

        Assert.That(outcome.ProviderMessageId, Is.EqualTo(wamid));
        if (code is not null)
        {
            Assert.That((outcome.ErrorCode, outcome.Kind, outcome.PossiblySent), Is.EqualTo((code, kind, false)));
        }
    }

    [TestCase("+6591234567", "ACCEPTED", "SENT", 1, null)]
    [TestCase("+6591234567", "SENT", "DELIVERED", 2, null)]
    [TestCase("+6591234567", "DELIVERED", "READ", 3, null)]
    [TestCase("+6591234567", "READ", null, 0, null)]
    [TestCase("+6591234567", "ERROR", null, 0, null)]
    [TestCase("+6580000003", "ACCEPTED", "SENT", 1, null)]
    [TestCase("+6580000001", "ACCEPTED", "ERROR", 1, "131026")]
    [TestCase("+6580000001", "ERROR", null, 0, null)]
    [TestCase("+6580000004", "ACCEPTED", null, 0, null)]
    public void NextReceipt_FollowsTheStatus(string recipient, string status, string? next, int afterSeconds, string? code)
    {
        var receipt = TestProvider.NextReceipt(recipient, status, Options);

        Assert.That(receipt?.Status, Is.EqualTo(next));
        if (next is not null)
        {
            Assert.That(receipt!.After, Is.EqualTo(TimeSpan.FromSeconds(afterSeconds)));
            Assert.That(receipt.ErrorCode, Is.EqualTo(code));
        }
    }

    [Test]
    public void IsTest_OnlyForTestKeys()
    {
        Assert.That(TestProvider.IsTest(new ClaimedMessage { KeyType = "test" }), Is.True);
        Assert.That(TestProvider.IsTest(new ClaimedMessage { KeyType = "live" }), Is.False);
    }
}
