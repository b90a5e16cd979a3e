using GovSg.Dispatcher.Sweeping;

namespace GovSg.Tests.Unit;

public sealed class SendCommandSizesTests
{
    [Test]
    public void IdsPerCommand_IsOneUntilACommandIsConsumed()
    {
        Assert.That(new SendCommandSizes().IdsPerCommand, Is.EqualTo(1));
    }

    [Test]
    public void IdsPerCommand_WeighsEachCommandOnce_HoweverItWasConsumed()
    {
        var sizes = new SendCommandSizes();
        sizes.Consumed(commands: 50, ids: 50); // a batch of single commands
        sizes.Consumed(commands: 1, ids: 50); // one batch send's command
        sizes.Consumed(commands: 1, ids: 20); // single sends published together

        // 120 ids in 52 commands; the newest fade the oldest only by a few percent.
        Assert.That(sizes.IdsPerCommand, Is.EqualTo(120.0 / 52).Within(0.15));
    }

    [Test]
    public void IdsPerCommand_ForgetsOldCommands()
    {
        var sizes = new SendCommandSizes();
        sizes.Consumed(commands: 20, ids: 1_000);
        for (var i = 0; i < 100; i++)
        {
            sizes.Consumed(commands: 50, ids: 50);
        }

        Assert.That(sizes.IdsPerCommand, Is.EqualTo(1).Within(0.05), "5,000 single commands later");
    }
}
