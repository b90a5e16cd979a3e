namespace GovSg.Hosting;

/// <summary>
/// The schema this build's statements need: its last migration (<c>Api/Database/Migrations</c>; a unit test keeps the
/// two equal). A service whose database has not recorded it (the migration Job not run yet, or failed) is not ready, so
/// a rolling update stops at its first new pod instead of sending traffic to statements the schema cannot run. A newer
/// schema is fine: migrations only add, so the old pods of a rollout keep working on it.
/// </summary>
internal static class SchemaVersion
{
    public const string Required = "0038_messages_handed_to_sweep";
}
