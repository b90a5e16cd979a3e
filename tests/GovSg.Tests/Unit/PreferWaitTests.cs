using GovSg.Api.Messages;

namespace GovSg.Tests.Unit;

public sealed class PreferWaitTests
{
    [TestCase("wait=5", 5)]
    [TestCase("wait=1", 1)]
    [TestCase("wait=10", 10)]
    [TestCase("respond-async, wait=3", 3)]
    [TestCase("WAIT=4", 4)]
    [TestCase("wait=\"2\"", 2)]
    [TestCase("wait=7; foo=bar", 7)]
    public void Parse_WhenValid_ReturnsSeconds(string header, int expected) =>
        Assert.That(PreferWait.Parse([header]), Is.EqualTo(expected));

    [TestCase("wait=0")]
    [TestCase("wait=11")]
    [TestCase("wait=-1")]
    [TestCase("wait=abc")]
    [TestCase("wait")]
    [TestCase("return=minimal")]
    [TestCase("")]
    public void Parse_WhenMalformedOrOutOfRange_IsIgnored(string header) =>
        Assert.That(PreferWait.Parse([header]), Is.Null);

    [TestCase("respond-async", true)]
    [TestCase("Respond-Async; foo=bar", true)]
    [TestCase("wait=3, respond-async", true)]
    [TestCase("respond-async=1", false)]
    [TestCase("wait=3", false)]
    [TestCase("", false)]
    public void RespondAsync_IsTheBarePreference(string header, bool expected) =>
        Assert.That(PreferWait.RespondAsync([header]), Is.EqualTo(expected));
}
