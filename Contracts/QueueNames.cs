namespace GovSg.Contracts;

/// <summary>
/// The queues the Dispatcher consumes, by name: its consumer definitions declare them, and its sweeper and the
/// deployment (KEDA scales Dispatchers on the send queue's length) read them.
/// </summary>
public static class QueueNames
{
    public const string SendMessage = "send-message";
    public const string ProviderStatus = "provider-status";
}
