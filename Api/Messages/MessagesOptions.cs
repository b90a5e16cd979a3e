using System.ComponentModel.DataAnnotations;

namespace GovSg.Api.Messages;

public sealed class MessagesOptions
{
    public const string SectionName = "Messages";

    /// <summary>
    /// A message no dispatcher has picked up within this time has its command re-published by the Dispatcher's
    /// sweeper (SPEC §5); the Dispatcher's <c>Sweep:PickUpDeadline</c> is the same allowance for re-published commands.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:01", "01:00:00")]
    public TimeSpan PickUpDeadline { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>
    /// The most batch sends one Api works on at once, of all users together (<see cref="BatchSlots"/>). A 4 MiB body of a
    /// million tiny JSON values takes tens of MiB to parse, before any check could refuse it: the cap bounds that memory,
    /// whatever agencies send. Batches of real messages are far smaller, and two cores are busy with a few of them.
    /// </summary>
    [Range(1, 1_000)]
    public int ConcurrentBatches { get; set; } = 4;

    /// <summary>Batches waiting for one of the Api's slots (at most <see cref="ConcurrentBatchesPerUser"/> of each user); beyond, 503.</summary>
    [Range(0, 100_000)]
    public int QueuedBatches { get; set; } = 1_000;

    /// <summary>The most of one user's batch sends an Api works on, or has waiting for one of its slots, at once.</summary>
    [Range(1, 1_000)]
    public int ConcurrentBatchesPerUser { get; set; } = 2;

    /// <summary>
    /// How long a batch's body may take to arrive once the batch has its slot; beyond, 400 and the slot goes to the next.
    /// A slot is taken before the body is read, to bound what is parsed at once, so without this a client that sends part
    /// of a body and stops would hold one for as long as the server's minimum data rate allows: hours for 4 MiB. 4 MiB
    /// arrives in 30 s at about 1.1 Mbit/s.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:01", "00:10:00")]
    public TimeSpan BatchBodyTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>A user's batches waiting for one of the user's slots; beyond, 503.</summary>
    [Range(0, 10_000)]
    public int QueuedBatchesPerUser { get; set; } = 20;
}
