using System.Reflection;
using GovSg.Api.Database;

namespace GovSg.Tests.Unit;

public sealed class SchemaVersionTests
{
    [TestCase(typeof(GovSg.Api.Program))]
    [TestCase(typeof(GovSg.Dispatcher.Program))]
    public void RequiredSchema_IsTheLastMigration(Type service)
    {
        // Each service's readiness waits for this migration (Hosting/SchemaVersion.cs, compiled into both): a migration
        // added without moving it would let a rollout run ahead of its migration Job unnoticed.
        var required = service.Assembly.GetType("GovSg.Hosting.SchemaVersion", throwOnError: true)!
            .GetField("Required", BindingFlags.Public | BindingFlags.Static)!.GetRawConstantValue();

        Assert.That(required, Is.EqualTo(MigrationRunner.Scripts().Last().Version));
    }
}
